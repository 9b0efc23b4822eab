#!/usr/bin/env python3
"""Sends a few sensor readings with the real SINETStream client, as a producer in the field
would. usage: demo_producer.py BROKER TOPIC [COUNT [RUN_TAG]]

RUN_TAG goes into every reading as "run", so a caller can find the messages of its own run
among the stored files of earlier runs."""
import json
import random
import sys
import tempfile
import time

import sinetstream


def main():
    broker, topic = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    tag = {"run": sys.argv[4]} if len(sys.argv) > 4 else {}
    service = {"type": "kafka", "brokers": broker, "consistency": "AT_LEAST_ONCE", "message_format": 3}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as config:
        json.dump({"header": {"version": 3}, "config": {"demo": service}}, config)  # JSON is YAML
        config.flush()
        with sinetstream.MessageWriter(service="demo", topic=topic, config_file=config.name) as writer:
            for i in range(count):
                reading = {**tag, "id": "sensor-1", "seq": i, "temperature": round(random.uniform(18, 26), 1)}
                writer.publish(json.dumps(reading).encode())
                print(f"  sent {json.dumps(reading)}")
                time.sleep(0.1)


if __name__ == "__main__":
    main()
