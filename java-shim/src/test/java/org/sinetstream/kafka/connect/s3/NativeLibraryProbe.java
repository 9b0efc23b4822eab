package org.sinetstream.kafka.connect.s3;

/**
 * A worker stand-in for {@link NativeLibraryTest}: loads the engine from the plugin jar, prints
 * the file it loaded, then exits normally ("exit") or waits to be killed ("wait").
 */
public final class NativeLibraryProbe {
  private NativeLibraryProbe() {}

  public static void main(String[] args) throws InterruptedException {
    NativeLibrary.load();
    System.out.println("loaded " + NativeLibrary.loadedFrom());
    System.out.flush();
    if (args.length > 0 && args[0].equals("wait")) {
      Thread.sleep(120_000);
    }
  }
}
