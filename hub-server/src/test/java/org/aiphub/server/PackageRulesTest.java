package org.aiphub.server;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * hub-server's package rules. Its packages ({@code route}, {@code directory}, {@code security},
 * {@code netty}, {@code http}, {@code cluster}, {@code metrics}, ...) depend on each other without
 * cycles. The root package {@code org.aiphub.server} is the composition root ({@code HubServer},
 * {@code HubMain}): it depends on every package, and they may lean on it only through the two
 * classes that still live there ({@code FatalErrors}, used by the Netty handlers, and {@code
 * DeviceConfigReloader}, used by the HTTP API), so no new edge back into it can appear unnoticed.
 */
class PackageRulesTest {
  private static final JavaClasses SERVER =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("org.aiphub.server");

  @Test
  void packagesAreFreeOfCycles() {
    slices().matching("org.aiphub.server.(*)..").should().beFreeOfCycles().check(SERVER);
  }

  @Test
  void packagesLeanOnTheCompositionRootOnlyThroughItsTwoSharedClasses() {
    DescribedPredicate<JavaClass> rootClassesButTheShared =
        JavaClass.Predicates.resideInAPackage("org.aiphub.server")
            .and(
                DescribedPredicate.not(
                    JavaClass.Predicates.belongToAnyOf(
                        FatalErrors.class, DeviceConfigReloader.class)));
    noClasses()
        .that()
        .resideInAPackage("org.aiphub.server.*..")
        .should()
        .dependOnClassesThat(rootClassesButTheShared)
        .check(SERVER);
  }

  @Test
  void theRouterSeesNoTransportAndNoCluster() {
    noClasses()
        .that()
        .resideInAnyPackage("org.aiphub.server.route..", "org.aiphub.server.directory..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.netty..",
            "io.lettuce..",
            "org.aiphub.server.netty..",
            "org.aiphub.server.http..",
            "org.aiphub.server.cluster..")
        .check(SERVER);
  }
}
