package org.aiphub.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * hub-core is pure logic: Netty belongs to hub-server. The enforcer's bannedDependencies rule keeps
 * Netty off the classpath; this test keeps it out of the sources, including fully qualified
 * references that need no import, and (ArchUnit) out of the compiled classes.
 */
class NoNettyInCoreTest {
  @Test
  void noSourceFileInHubCoreMentionsNetty() throws IOException {
    Path src = Path.of("src");
    assertThat(src).isDirectory();
    List<String> offenders;
    try (Stream<Path> files = Files.walk(src)) {
      offenders =
          files
              .filter(p -> p.toString().endsWith(".java"))
              .filter(p -> !p.getFileName().toString().equals("NoNettyInCoreTest.java"))
              .filter(NoNettyInCoreTest::mentionsNetty)
              .map(Path::toString)
              .collect(Collectors.toList());
    }
    assertThat(offenders).isEmpty();
  }

  @Test
  void noClassOfHubCoreDependsOnNetty() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.netty..")
        .check(
            new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.aiphub.core"));
  }

  @Test
  void nettyIsNotOnHubCoresTestClasspath() {
    assertThat(getClass().getClassLoader().getResource("io/netty/channel/Channel.class")).isNull();
  }

  private static boolean mentionsNetty(Path p) {
    try {
      return Files.readString(p).contains("io.netty");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
