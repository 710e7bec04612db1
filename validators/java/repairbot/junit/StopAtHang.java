package repairbot.junit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Ends a validation run at the first hung test, as validators/pytest_hang.py does for
 * pytest: a candidate that makes one test hang is rejected whatever the others do, and a
 * mutant that loops in one test usually loops in the next ones too. A test hangs when one
 * thread used more than {@value #CPU_PROPERTY} CPU seconds since the test started (CPU,
 * which a busy machine does not inflate; one thread's, so that a test that computes on
 * many cores is not taken for a loop, and JUnit 4's timeout thread counts as well as the
 * launcher's), or when the project's own limit failed it (JUnit 4's {@code @Test(timeout)},
 * Jupiter's {@code @Timeout}): JUnit 4 then leaves the looping thread spinning beside the
 * next tests.
 *
 * The JVM is halted there, before the launcher writes its XML reports, so every finished
 * test's outcome is also appended to the file named by {@value #OUTCOMES_PROPERTY}, one
 * line each: status, test id and message (URL-encoded), seconds. The runner reads it when
 * no report came. Idle unless both properties are set (validation runs only: a baseline
 * needs every test's outcome).
 */
public final class StopAtHang implements TestExecutionListener {
    public static final String CPU_PROPERTY = "repairbot.hang.cpu.s";
    public static final String OUTCOMES_PROPERTY = "repairbot.hang.outcomes";
    /** The exit status of a run stopped here. */
    public static final int HUNG_EXIT = 86;
    private static final long POLL_MILLIS = 20;
    private static final String[] TIMEOUTS = {
        "org.junit.runners.model.TestTimedOutException", "java.util.concurrent.TimeoutException",
    };

    private final long limitNanos;
    private final String outcomes;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private TestPlan plan;
    private volatile TestIdentifier current;
    private volatile Map<Long, Long> currentStartCpu = Map.of();
    private volatile long currentStartWall;

    public StopAtHang() {
        String limit = System.getProperty(CPU_PROPERTY);
        outcomes = System.getProperty(OUTCOMES_PROPERTY);
        boolean measurable = threads.isThreadCpuTimeSupported();
        limitNanos = limit == null || outcomes == null || !measurable ? 0 : (long) (Double.parseDouble(limit) * 1e9);
        if (limitNanos > 0) {
            Thread watchdog = new Thread(this::watch, "repairbot-stop-at-hang");
            watchdog.setDaemon(true);
            watchdog.start();
        }
    }

    @Override
    public void testPlanExecutionStarted(TestPlan plan) {
        this.plan = plan;
    }

    @Override
    public void executionStarted(TestIdentifier test) {
        if (limitNanos > 0 && test.isTest()) {
            currentStartCpu = cpuByThread();
            currentStartWall = System.nanoTime();
            current = test;
        }
    }

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        if (limitNanos > 0 && test.isTest()) {
            record("skipped", test, reason == null ? "" : reason, 0);
        }
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (limitNanos == 0 || !test.isTest()) {
            return;
        }
        current = null;
        Throwable thrown = result.getThrowable().orElse(null);
        String status = result.getStatus() == TestExecutionResult.Status.SUCCESSFUL ? "passed"
            : result.getStatus() == TestExecutionResult.Status.ABORTED ? "skipped"
            : thrown instanceof AssertionError ? "failed" : "error";
        record(status, test, thrown == null ? "" : String.valueOf(thrown), System.nanoTime() - currentStartWall);
        if (timedOut(thrown)) {
            stop();
        }
    }

    private void watch() {
        while (true) {
            TestIdentifier test = current;
            if (test != null && longestCpu(currentStartCpu) > limitNanos) {
                String message = String.format(Locale.ROOT,
                    "repairbot: a thread of the test used its CPU limit (%.1f s) and the test was stopped as hung",
                    limitNanos / 1e9);
                record("failed", test, message, System.nanoTime() - currentStartWall);
                stop();
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private Map<Long, Long> cpuByThread() {
        Map<Long, Long> cpu = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            cpu.put(id, threads.getThreadCpuTime(id));
        }
        return cpu;
    }

    /** The most CPU any live thread used since {@code start} (a thread started since, all its own). */
    private long longestCpu(Map<Long, Long> start) {
        long longest = 0;
        for (long id : threads.getAllThreadIds()) {
            long cpu = threads.getThreadCpuTime(id);
            if (cpu >= 0) {
                longest = Math.max(longest, cpu - Math.max(0, start.getOrDefault(id, 0L)));
            }
        }
        return longest;
    }

    private static boolean timedOut(Throwable thrown) {
        for (Class<?> type = thrown == null ? null : thrown.getClass(); type != null; type = type.getSuperclass()) {
            for (String name : TIMEOUTS) {
                if (type.getName().equals(name)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Both threads write here: a line is whole before the JVM halts. */
    private synchronized void record(String status, TestIdentifier test, String message, long wallNanos) {
        String line = status + "\t" + encode(TestIds.of(test, plan)) + "\t" + encode(message) + "\t"
            + String.format(Locale.ROOT, "%.3f", wallNanos / 1e9) + "\n";
        try (Writer out = Files.newBufferedWriter(Paths.get(outcomes), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            out.write(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private synchronized void stop() {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(HUNG_EXIT);
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
