package org.aiphub.bench.loadgen;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The load generator: real AIP WebSocket clients against the hub or a baseline. Modes: {@code rate}
 * (default) for open-loop task round trips, {@code connections} for memory per idle device, {@code
 * storm} for registrations per second, {@code compare} for the hub against both baselines in one
 * run, {@code cluster} for cross-node against same-node round trips on a two-node cluster. See
 * hub-bench/README-loadgen.md.
 *
 * <p>Run: {@code java -cp hub-bench/target/benchmarks.jar org.aiphub.bench.loadgen.LoadGen [mode]
 * [options]}.
 */
@Command(
    name = "loadgen",
    mixinStandardHelpOptions = true,
    subcommands = {
      RateCommand.class,
      ConnectionsCommand.class,
      StormCommand.class,
      CompareCommand.class,
      ClusterCommand.class,
      CommandLine.HelpCommand.class
    },
    description = {
      "AIP load generator: device and constellation clients over real WebSockets.",
      "Modes: rate (default), connections, storm, compare, cluster.",
      "'loadgen help MODE' for its options."
    })
public final class LoadGen implements Runnable {
  /** Exit code when the run finished but counted errors. */
  public static final int EXIT_ERRORS = 1;

  /** Exit code when the run could not be done (a server did not start, clients were refused). */
  public static final int EXIT_FAILED = 3;

  private static final Set<String> MODES =
      Set.of("rate", "connections", "storm", "compare", "cluster", "help");
  private static final Set<String> ROOT_OPTIONS = Set.of("-h", "--help", "-V", "--version");

  @Override
  public void run() {
    // never reached: execute() picks "rate" when no mode is named
  }

  /** Runs the load generator with {@code args} and returns its exit code. */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    String[] effective = args;
    if (args.length == 0 || (!MODES.contains(args[0]) && !ROOT_OPTIONS.contains(args[0]))) {
      effective = new String[args.length + 1];
      effective[0] = "rate";
      System.arraycopy(args, 0, effective, 1, args.length);
    }
    CommandLine cli = new CommandLine(new LoadGen()).setOut(out).setErr(err);
    cli.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof LoadGenException || e instanceof IllegalArgumentException) {
            cmd.getErr().println("loadgen: " + e.getMessage());
            cmd.getErr().flush();
            return EXIT_FAILED;
          }
          throw e;
        });
    int code = cli.execute(effective);
    out.flush();
    err.flush();
    return code;
  }

  /** Command-line entry point; exits with the run's code. */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(execute(args, out, err));
  }
}
