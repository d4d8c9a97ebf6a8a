package org.aiphub.core;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * hub-core's package rules: its packages ({@code aip}, {@code json}, {@code device}, {@code
 * registry}, {@code session}) depend on each other without cycles, and none of them sees Netty
 * (also kept off the classpath by the enforcer and out of the sources by {@code
 * NoNettyInCoreTest}).
 */
class PackageRulesTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("org.aiphub.core");

  @Test
  void packagesAreFreeOfCycles() {
    slices().matching("org.aiphub.core.(*)..").should().beFreeOfCycles().check(CORE);
  }
}
