package repairbot.coverage;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.jacoco.core.analysis.Analyzer;
import org.jacoco.core.analysis.CoverageBuilder;
import org.jacoco.core.analysis.ICounter;
import org.jacoco.core.analysis.ISourceFileCoverage;
import org.jacoco.core.data.ExecutionData;
import org.jacoco.core.data.ExecutionDataStore;
import org.jacoco.core.tools.ExecFileLoader;

/**
 * Prints the source lines each per-test dump covered:
 * {@code java repairbot.coverage.CoveredLines EXEC_DIR CLASS_DIR...} writes one line
 * {@code <exec file name>\t<package/Source.java>\t<line> <line> ...} per test and source
 * file it executed.
 *
 * Only classes with at least one probe hit in a dump are analyzed, each from its class file
 * as compiled (JaCoCo matches execution data to classes by a checksum of those bytes): a
 * test touches few classes, so the cost follows what it ran, not the project's size.
 *
 * The sandboxed tests wrote both dirs: links in them are never followed.
 */
public final class CoveredLines {
    public static void main(String[] args) throws IOException {
        Map<String, byte[]> classes = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            index(Paths.get(args[i]), classes);
        }
        List<Path> dumps = new ArrayList<>();
        try (Stream<Path> files = Files.list(Paths.get(args[0]))) {
            files.filter(f -> f.toString().endsWith(".exec") && regular(f)).sorted().forEach(dumps::add);
        }
        StringBuilder out = new StringBuilder();
        for (Path dump : dumps) {
            report(dump, classes, out);
            System.out.print(out);
            out.setLength(0);
        }
        System.out.flush();
    }

    /** Class files by internal name (pkg/Name$Inner); the first class dir wins, as on a classpath. */
    private static void index(Path root, Map<String, byte[]> classes) throws IOException {
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(f -> f.toString().endsWith(".class") && regular(f)).forEach(found::add);
        }
        for (Path file : found) {
            String relative = root.relativize(file).toString().replace(File.separatorChar, '/');
            String name = relative.substring(0, relative.length() - ".class".length());
            if (!classes.containsKey(name)) {
                classes.put(name, Files.readAllBytes(file));
            }
        }
    }

    private static boolean regular(Path file) {
        return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS);
    }

    private static void report(Path dump, Map<String, byte[]> classes, StringBuilder out) throws IOException {
        ExecFileLoader loader = new ExecFileLoader();
        loader.load(dump.toFile());
        ExecutionDataStore store = loader.getExecutionDataStore();
        CoverageBuilder builder = new CoverageBuilder();
        Analyzer analyzer = new Analyzer(store, builder);
        for (ExecutionData data : store.getContents()) {
            byte[] bytes = classes.get(data.getName());
            if (bytes != null && data.hasHits()) {
                analyzer.analyzeClass(bytes, data.getName());
            }
        }
        for (ISourceFileCoverage source : builder.getSourceFiles()) {
            StringBuilder lines = new StringBuilder();
            for (int line = source.getFirstLine(); line <= source.getLastLine() && line > 0; line++) {
                int status = source.getLine(line).getStatus();
                if (status == ICounter.PARTLY_COVERED || status == ICounter.FULLY_COVERED) {
                    lines.append(lines.length() == 0 ? "" : " ").append(line);
                }
            }
            if (lines.length() > 0) {
                String pkg = source.getPackageName();
                String path = pkg.isEmpty() ? source.getName() : pkg + "/" + source.getName();
                out.append(dump.getFileName()).append('\t').append(path).append('\t').append(lines).append('\n');
            }
        }
    }
}
