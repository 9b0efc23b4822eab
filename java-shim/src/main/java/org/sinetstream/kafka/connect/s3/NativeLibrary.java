package org.sinetstream.kafka.connect.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Loads the engine: from {@code java.library.path} when it is there, else the copy for this
 * platform inside the jar ({@code /native/linux-<arch>/libsinets3sink.so}), extracted into a
 * directory: the system property {@value #DIR_PROPERTY}, else the environment variable
 * {@value #DIR_ENV}, else {@code java.io.tmpdir} (which may be mounted noexec). Loaded once per
 * class loader.
 *
 * <p>The copy is named after the library's SHA-256, so a worker killed before it could remove its
 * copy leaves one file that the next start verifies and reuses, instead of one more file per
 * start. After a successful load, copies of other builds in that directory are removed: Linux
 * keeps a mapped library alive after unlink, so this never harms a running worker, and a worker
 * that loses its freshly extracted copy to this race extracts it once more. The loaded copy is
 * removed when the JVM exits normally.
 */
final class NativeLibrary {
  static final String NAME = "sinets3sink";
  static final String DIR_PROPERTY = "sinets3.native.dir";
  static final String DIR_ENV = "SINETS3_NATIVE_DIR";
  private static final String PREFIX = "lib" + NAME + "-";
  private static final String HINT = "; name a directory that allows executing files (not mounted noexec) with the"
      + " system property " + DIR_PROPERTY + " or the environment variable " + DIR_ENV;
  private static Path loadedFrom;
  private static boolean loaded;

  private NativeLibrary() {}

  static synchronized void load() {
    if (loaded) {
      return;
    }
    try {
      System.loadLibrary(NAME);
    } catch (UnsatisfiedLinkError notOnLibraryPath) {
      loadedFrom = loadFromJar(extractionDir(System.getProperties(), System.getenv()));
    }
    loaded = true;
  }

  /** The extracted copy this class loader loaded, or null (not loaded, or from java.library.path). */
  static synchronized Path loadedFrom() {
    return loadedFrom;
  }

  static String resourcePath() {
    return "/native/" + platform() + "/" + System.mapLibraryName(NAME);
  }

  /** The directory to extract into, and which setting named it. */
  static final class Dir {
    final Path path;
    final String source;

    Dir(Path path, String source) {
      this.path = path;
      this.source = source;
    }

    @Override
    public String toString() {
      return path + " (" + source + ")";
    }
  }

  static Dir extractionDir(Properties props, Map<String, String> env) {
    String property = props.getProperty(DIR_PROPERTY, "").trim();
    if (!property.isEmpty()) {
      return new Dir(Paths.get(property), "system property " + DIR_PROPERTY);
    }
    String variable = env.getOrDefault(DIR_ENV, "").trim();
    if (!variable.isEmpty()) {
      return new Dir(Paths.get(variable), "environment variable " + DIR_ENV);
    }
    return new Dir(Paths.get(props.getProperty("java.io.tmpdir", "/tmp")),
        "java.io.tmpdir; neither " + DIR_PROPERTY + " nor " + DIR_ENV + " is set");
  }

  private static Path loadFromJar(Dir dir) {
    String resource = resourcePath();
    try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new UnsatisfiedLinkError("The plugin jar has no native library for " + platform()
            + " (looked for " + resource + ")");
      }
      return loadCopy(readAll(in), dir);
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("Cannot read " + resource + " from the plugin jar: " + e);
    }
  }

  /** Extracts {@code library} into {@code dir} and loads it; returns the file loaded. */
  static Path loadCopy(byte[] library, Dir dir) {
    Path file = extractOrFail(library, dir, false);
    try {
      System.load(file.toAbsolutePath().toString());
    } catch (UnsatisfiedLinkError e) {
      if (!Files.exists(file)) {
        // removed by a worker of another build between our extraction and our load
        file = extractOrFail(library, dir, false);
      } else if (String.valueOf(e.getMessage()).contains("already loaded in another classloader")) {
        // the same plugin in a second class loader of this JVM: it needs a file of its own
        file = extractOrFail(library, dir, true);
      } else {
        throw loadFailure(file, dir, e);
      }
      try {
        System.load(file.toAbsolutePath().toString());
      } catch (UnsatisfiedLinkError again) {
        throw loadFailure(file, dir, again);
      }
    }
    file.toFile().deleteOnExit();
    removeOtherCopies(dir.path, file, sharedName(library));
    return file;
  }

  private static UnsatisfiedLinkError loadFailure(Path file, Dir dir, UnsatisfiedLinkError cause) {
    return new UnsatisfiedLinkError("Cannot load the native library " + file + " extracted into " + dir + ": "
        + cause.getMessage() + HINT);
  }

  private static Path extractOrFail(byte[] library, Dir dir, boolean privateCopy) {
    try {
      return privateCopy ? extractPrivate(library, dir.path) : extract(library, dir.path);
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("Cannot extract the native library into " + dir + ": " + e + HINT);
    }
  }

  /**
   * Puts {@code library} into {@code dir} as {@code libsinets3sink-<sha256 prefix>.so}, reusing a
   * file of that name when it is ours and holds exactly these bytes. A replacement is written
   * beside it and renamed over it, never written in place, so a process that mapped the old file
   * keeps its pages. When the name belongs to another user (a shared, sticky /tmp), a private
   * copy is made instead.
   */
  static Path extract(byte[] library, Path dir) throws IOException {
    Files.createDirectories(dir);
    byte[] digest = sha256(library);
    Path shared = dir.resolve(PREFIX + hex(digest, 8) + ".so");
    Path part = Files.createTempFile(dir, PREFIX + hex(digest, 8) + "-", ".part");
    try {
      if (reusable(shared, part, digest)) {
        return shared;
      }
      Files.write(part, library);
      try {
        Files.move(part, shared, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return shared;
      } catch (IOException notOurs) {
        Path own = dir.resolve(part.getFileName().toString().replace(".part", ".so"));
        Files.move(part, own, StandardCopyOption.ATOMIC_MOVE);
        return own;
      }
    } finally {
      Files.deleteIfExists(part);
    }
  }

  /** The name every worker of this build shares: {@code libsinets3sink-<sha256 prefix>.so}. */
  static String sharedName(byte[] library) {
    return PREFIX + hex(sha256(library), 8) + ".so";
  }

  private static Path extractPrivate(byte[] library, Path dir) throws IOException {
    Path own = Files.createTempFile(dir, PREFIX + hex(sha256(library), 8) + "-", ".so");
    Files.write(own, library);
    return own;
  }

  private static boolean reusable(Path file, Path ours, byte[] digest) {
    try {
      return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
          && Files.getOwner(file, LinkOption.NOFOLLOW_LINKS).equals(Files.getOwner(ours))
          && Arrays.equals(digest, sha256(Files.readAllBytes(file)));
    } catch (IOException unreadable) {
      return false;
    }
  }

  /**
   * Removes our files {@code libsinets3sink-*.so} in {@code dir} other than {@code keep} and the
   * shared copy of this build: copies of other builds, private copies, and random names left by
   * earlier versions of this loader.
   */
  static void removeOtherCopies(Path dir, Path keep, String sharedName) {
    try (DirectoryStream<Path> copies = Files.newDirectoryStream(dir, PREFIX + "*.so")) {
      for (Path copy : copies) {
        try {
          if (!copy.getFileName().toString().equals(sharedName) && !Files.isSameFile(copy, keep)
              && Files.isRegularFile(copy, LinkOption.NOFOLLOW_LINKS)
              && Files.getOwner(copy, LinkOption.NOFOLLOW_LINKS).equals(Files.getOwner(keep))) {
            Files.deleteIfExists(copy);
          }
        } catch (IOException notOurs) {
          // another user's copy, or gone already
        }
      }
    } catch (IOException unlistable) {
      // the load succeeded; a leftover copy is harmless
    }
  }

  static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(8 << 20);
    byte[] buffer = new byte[64 << 10];
    for (int n; (n = in.read(buffer)) > 0; ) {
      out.write(buffer, 0, n);
    }
    return out.toByteArray();
  }

  private static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private static String hex(byte[] bytes, int count) {
    StringBuilder out = new StringBuilder(count * 2);
    for (int i = 0; i < count; i++) {
      out.append(String.format(Locale.ROOT, "%02x", bytes[i]));
    }
    return out.toString();
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
