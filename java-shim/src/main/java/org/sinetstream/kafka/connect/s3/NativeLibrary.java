package org.sinetstream.kafka.connect.s3;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the engine: from {@code java.library.path} when it is there, else the copy for this
 * platform inside the jar ({@code /native/linux-<arch>/libsinets3sink.so}), extracted to a
 * temporary file. Loaded once per class loader.
 */
final class NativeLibrary {
  static final String NAME = "sinets3sink";
  private static boolean loaded;

  private NativeLibrary() {}

  static synchronized void load() {
    if (loaded) {
      return;
    }
    try {
      System.loadLibrary(NAME);
    } catch (UnsatisfiedLinkError notOnLibraryPath) {
      loadFromJar();
    }
    loaded = true;
  }

  static String resourcePath() {
    return "/native/" + platform() + "/" + System.mapLibraryName(NAME);
  }

  private static void loadFromJar() {
    String resource = resourcePath();
    try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new UnsatisfiedLinkError("The plugin jar has no native library for " + platform()
            + " (looked for " + resource + ")");
      }
      Path file = Files.createTempFile("lib" + NAME + "-", ".so");
      file.toFile().deleteOnExit();
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      System.load(file.toAbsolutePath().toString());
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("Cannot extract " + resource + ": " + e);
    }
  }

  static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String osName = os.contains("linux") ? "linux" : os.replaceAll("[^a-z0-9]", "");
    switch (arch) {
      case "amd64":
      case "x86_64":
        return osName + "-x86_64";
      case "aarch64":
      case "arm64":
        return osName + "-aarch64";
      default:
        return osName + "-" + arch;
    }
  }
}
