package repairbot.coverage;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

import org.jacoco.agent.rt.RT;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

import repairbot.junit.TestIds;

/**
 * Per-test JaCoCo execution data: the agent's probes are reset when a test starts and
 * dumped when it finishes, into {@code <dir>/<test id, URL-encoded>.exec} where dir is the
 * system property {@value #DIR_PROPERTY}. Test ids are the ones the runner reports
 * ({@code pkg.ClassTest#method}, see {@link TestIds#of}); a method that runs several times
 * (parameterized, repeated) appends one dump per run to the same file, and JaCoCo's reader
 * merges them, as the runner merges their outcomes.
 *
 * Found by the JUnit Platform through META-INF/services, so it works the same for every
 * engine (Jupiter, Vintage for JUnit 4). Without the property it stays idle, and without
 * the agent it fails the run loudly rather than report no coverage. It creates the dir
 * itself: inside the sandbox only the test JVM's user may write there.
 *
 * Code run outside any test (class-level setup such as {@code @BeforeAll}) is reset away
 * at the next test's start: it belongs to no single test.
 */
public final class PerTestCoverage implements TestExecutionListener {
    public static final String DIR_PROPERTY = "repairbot.coverage.dir";

    private final Path dir;
    private TestPlan plan;

    public PerTestCoverage() {
        String value = System.getProperty(DIR_PROPERTY);
        dir = value == null ? null : Paths.get(value);
        if (dir != null) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public void executionStarted(TestIdentifier test) {
        if (dir != null && test.isTest()) {
            RT.getAgent().reset();
        }
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (dir == null || !test.isTest()) {
            return;
        }
        byte[] data = RT.getAgent().getExecutionData(true);
        Path file = dir.resolve(URLEncoder.encode(TestIds.of(test, plan), StandardCharsets.UTF_8) + ".exec");
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            out.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void testPlanExecutionStarted(TestPlan plan) {
        this.plan = plan;
    }
}
