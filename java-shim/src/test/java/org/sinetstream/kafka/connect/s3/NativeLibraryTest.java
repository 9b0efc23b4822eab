package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Where the engine is extracted, how copies are reused and removed, what a failure says. */
public class NativeLibraryTest {
  @Rule
  public TemporaryFolder tmp = new TemporaryFolder();

  private static final byte[] LIBRARY = "stand-in for a shared library".getBytes(StandardCharsets.UTF_8);

  @Test
  public void theSystemPropertyWinsOverTheEnvironmentVariableWhichWinsOverTmpdir() {
    Properties props = new Properties();
    props.setProperty("java.io.tmpdir", "/var/tmp-of-java");
    NativeLibrary.Dir dir = NativeLibrary.extractionDir(props, Collections.emptyMap());
    assertEquals(Paths.get("/var/tmp-of-java"), dir.path);
    assertTrue(dir.source, dir.source.contains("java.io.tmpdir"));

    dir = NativeLibrary.extractionDir(props, Collections.singletonMap("SINETS3_NATIVE_DIR", "/opt/from-env"));
    assertEquals(Paths.get("/opt/from-env"), dir.path);
    assertEquals("environment variable SINETS3_NATIVE_DIR", dir.source);

    props.setProperty("sinets3.native.dir", "/opt/from-property");
    dir = NativeLibrary.extractionDir(props, Collections.singletonMap("SINETS3_NATIVE_DIR", "/opt/from-env"));
    assertEquals(Paths.get("/opt/from-property"), dir.path);
    assertEquals("system property sinets3.native.dir", dir.source);

    props.setProperty("sinets3.native.dir", "  ");
    dir = NativeLibrary.extractionDir(props, Collections.singletonMap("SINETS3_NATIVE_DIR", ""));
    assertEquals("blank settings count as unset", Paths.get("/var/tmp-of-java"), dir.path);
  }

  @Test
  public void aCopyWithTheRightContentIsReusedNotRewritten() throws IOException {
    Path dir = tmp.newFolder("native").toPath();
    Path first = NativeLibrary.extract(LIBRARY, dir);
    assertEquals(NativeLibrary.sharedName(LIBRARY), first.getFileName().toString());
    assertTrue(first.getFileName().toString().matches("libsinets3sink-[0-9a-f]{16}\\.so"));
    FileTime old = FileTime.fromMillis(1_000_000L);
    Files.setLastModifiedTime(first, old);

    Path second = NativeLibrary.extract(LIBRARY, dir);
    assertEquals(first, second);
    assertEquals("reused, not written again", old, Files.getLastModifiedTime(second));
    assertEquals("no temporary file left", Collections.singletonList(first), list(dir));
  }

  @Test
  public void aCopyWithWrongContentUnderTheNameIsReplaced() throws IOException {
    Path dir = tmp.newFolder("native").toPath();
    Path planted = dir.resolve(NativeLibrary.sharedName(LIBRARY));
    Files.write(planted, "truncated by a killed worker".getBytes(StandardCharsets.UTF_8));
    Path extracted = NativeLibrary.extract(LIBRARY, dir);
    assertEquals(planted, extracted);
    assertArrayEquals(LIBRARY, Files.readAllBytes(extracted));
    assertEquals(Collections.singletonList(extracted), list(dir));
  }

  @Test
  public void copiesOfOtherBuildsAreRemovedOtherFilesAreKept() throws IOException {
    Path dir = tmp.newFolder("native").toPath();
    Path loaded = NativeLibrary.extract(LIBRARY, dir);
    Path otherBuild = Files.write(dir.resolve("libsinets3sink-0123456789abcdef.so"), new byte[] {1});
    Path oldRandomName = Files.write(dir.resolve("libsinets3sink-4711081512345678901.so"), new byte[] {2});
    Path unrelated = Files.write(dir.resolve("libother-0123.so"), new byte[] {3});
    NativeLibrary.removeOtherCopies(dir, loaded, NativeLibrary.sharedName(LIBRARY));
    assertTrue(Files.exists(loaded));
    assertTrue(Files.exists(unrelated));
    assertTrue(!Files.exists(otherBuild) && !Files.exists(oldRandomName));
  }

  /** dlopen refuses the engine of the other architecture, as it refuses a file in a noexec mount. */
  @Test
  public void aLoadFailureNamesTheDirectoryAndTheSettings() throws IOException {
    Path dir = tmp.newFolder("noexec-stand-in").toPath();
    NativeLibrary.Dir where = new NativeLibrary.Dir(dir, "java.io.tmpdir");
    String other = NativeLibrary.platform().endsWith("x86_64") ? "linux-aarch64" : "linux-x86_64";
    byte[] foreign;
    try (InputStream in = NativeLibrary.class.getResourceAsStream("/native/" + other + "/libsinets3sink.so")) {
      assertNotNull(other + " engine in the jar", in);
      foreign = NativeLibrary.readAll(in);
    }
    try {
      NativeLibrary.loadCopy(foreign, where);
      fail("the " + other + " engine loaded");
    } catch (UnsatisfiedLinkError e) {
      String message = e.getMessage();
      assertTrue(message, message.contains(dir.toString()));
      assertTrue(message, message.contains("java.io.tmpdir"));
      assertTrue(message, message.contains("noexec"));
      assertTrue(message, message.contains("sinets3.native.dir") && message.contains("SINETS3_NATIVE_DIR"));
    }
  }

  @Test
  public void anUnusableDirectoryIsNamedWithTheSettingThatChoseIt() throws IOException {
    Path notADirectory = tmp.newFile("plain-file").toPath().resolve("native");
    NativeLibrary.Dir where = new NativeLibrary.Dir(notADirectory, "system property sinets3.native.dir");
    try {
      NativeLibrary.loadCopy(LIBRARY, where);
      fail("extracted below a regular file");
    } catch (UnsatisfiedLinkError e) {
      String message = e.getMessage();
      assertTrue(message, message.startsWith("Cannot extract the native library into " + notADirectory
          + " (system property sinets3.native.dir)"));
      assertTrue(message, message.contains("SINETS3_NATIVE_DIR"));
    }
  }

  /** The real engine, in worker stand-ins: removed at exit; a killed worker's copy is reused. */
  @Test
  public void theExtractedEngineIsRemovedAtExitAndAKilledWorkersCopyIsReused() throws Exception {
    Path dir = tmp.newFolder("workers").toPath();
    Path otherBuild = Files.write(dir.resolve("libsinets3sink-0123456789abcdef.so"), new byte[] {1});
    Path unrelated = Files.write(dir.resolve("notes.txt"), new byte[] {2});

    Probe killed = probe(dir, "wait");
    Path left;
    try {
      left = Paths.get(killed.awaitLoaded());
    } finally {
      killed.process.destroyForcibly(); // SIGKILL: no exit hooks run
      assertTrue("probe did not die", killed.process.waitFor(30, TimeUnit.SECONDS));
    }
    assertEquals(dir, left.getParent());
    assertTrue("the copy of another build was removed after the load", !Files.exists(otherBuild));
    assertEquals(Arrays.asList(left, unrelated), list(dir));

    Probe normal = probe(dir, "exit");
    assertEquals("the killed worker's copy is reused", left.toString(), normal.awaitLoaded());
    assertTrue("probe did not exit", normal.process.waitFor(60, TimeUnit.SECONDS));
    assertEquals(normal.output(), 0, normal.process.exitValue());
    assertEquals("removed at exit", Collections.singletonList(unrelated), list(dir));
  }

  /** Connect gives each plugin location its own class loader; the same jar twice must still load. */
  @Test
  public void twoClassLoadersOfOneJvmEachLoadTheEngine() throws Exception {
    Path dir = tmp.newFolder("loaders").toPath();
    URL jar = NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation();
    assertTrue(jar.toString(), jar.getPath().endsWith(".jar"));
    String saved = System.getProperty(NativeLibrary.DIR_PROPERTY);
    System.setProperty(NativeLibrary.DIR_PROPERTY, dir.toString());
    List<Object> files = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        URLClassLoader loader = new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader());
        Class<?> cls = Class.forName(NativeLibrary.class.getName(), true, loader);
        Method load = cls.getDeclaredMethod("load");
        Method loadedFrom = cls.getDeclaredMethod("loadedFrom");
        load.setAccessible(true);
        loadedFrom.setAccessible(true);
        load.invoke(null);
        files.add(loadedFrom.invoke(null));
      }
    } finally {
      if (saved == null) {
        System.clearProperty(NativeLibrary.DIR_PROPERTY);
      } else {
        System.setProperty(NativeLibrary.DIR_PROPERTY, saved);
      }
    }
    assertNotNull(files.get(0));
    assertNotNull(files.get(1));
    assertNotEquals("a second class loader needs a file of its own", files.get(0), files.get(1));
    assertEquals(dir.resolve(sharedNameOfPackagedEngine()), files.get(0));
  }

  private static String sharedNameOfPackagedEngine() throws IOException {
    try (InputStream in = NativeLibrary.class.getResourceAsStream(NativeLibrary.resourcePath())) {
      assertNotNull("the jar holds the engine for " + NativeLibrary.platform(), in);
      return NativeLibrary.sharedName(NativeLibrary.readAll(in));
    }
  }

  /** A JVM running {@link NativeLibraryProbe}, its output in a file. */
  private static final class Probe {
    final Process process;
    final Path log;

    Probe(Process process, Path log) {
      this.process = process;
      this.log = log;
    }

    /** The file the probe loaded, as it printed it; fails after 60 s or when the probe failed. */
    String awaitLoaded() throws IOException, InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
          if (line.startsWith("loaded ")) {
            return line.substring("loaded ".length());
          }
        }
        if (!process.isAlive()) {
          fail("probe exited with " + process.exitValue() + " before loading: " + output());
        }
        Thread.sleep(50);
      }
      fail("probe did not load the engine within 60 s: " + output());
      return null;
    }

    String output() throws IOException {
      return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
    }
  }

  private Probe probe(Path dir, String mode) throws IOException {
    String classpath = codeSource(NativeLibrary.class) + File.pathSeparator + codeSource(NativeLibraryProbe.class);
    Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
    Path log = tmp.newFile("probe-" + mode + ".log").toPath();
    Process process = new ProcessBuilder(java.toString(), "-D" + NativeLibrary.DIR_PROPERTY + "=" + dir, "-cp",
        classpath, NativeLibraryProbe.class.getName(), mode)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new Probe(process, log);
  }

  private static String codeSource(Class<?> cls) {
    return new File(cls.getProtectionDomain().getCodeSource().getLocation().getPath()).getPath();
  }

  private static List<Path> list(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        files.add(entry);
      }
    }
    Collections.sort(files);
    return files;
  }
}
