module sinets3/bench/proxy

go 1.22
