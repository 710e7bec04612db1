package repairbot.junit;

import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/** The runner's ids for tests, shared by repairbot's JUnit listeners. */
public final class TestIds {
    private TestIds() {
    }

    /**
     * The runner's id for a test (validators/junit_xml.py): {@code pkg.Class#method}, with
     * the parameter types of a JUnit 5 method that takes parameters ({@code
     * pkg.Class#add(int, int)}). A dynamic test is named after the nearest ancestor with a
     * method source, its test factory; failing that, the platform's unique id keeps it apart.
     */
    public static String of(TestIdentifier test, TestPlan plan) {
        TestIdentifier current = test;
        while (current != null) {
            TestSource source = current.getSource().orElse(null);
            if (source instanceof MethodSource) {
                MethodSource method = (MethodSource) source;
                String parameters = method.getMethodParameterTypes();
                String suffix = parameters == null || parameters.isEmpty() ? "" : "(" + parameters + ")";
                return method.getClassName() + "#" + method.getMethodName() + suffix;
            }
            current = plan == null ? null : plan.getParent(current).orElse(null);
        }
        return test.getUniqueId();
    }
}
