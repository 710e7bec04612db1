package repairbot.ant;

import org.apache.tools.ant.taskdefs.Javac;
import org.apache.tools.ant.taskdefs.compilers.Javac13;

/**
 * Ant's in-process javac ("modern") with the source and target levels raised to a minimum.
 *
 * Old build files write {@code source="1.6"} or {@code target="1.5"} into their javac tasks,
 * which javac 17 refuses ("Source option 6 is no longer supported"); the build property
 * {@code ant.build.javac.source} cannot override an attribute. Selected with
 * {@code -Dbuild.compiler=repairbot.ant.RaisedSourceLevel}, this adapter raises every level
 * below {@code -Drepairbot.javac.min.level} (default 8) before javac sees it, and leaves the
 * build file alone.
 */
public class RaisedSourceLevel extends Javac13 {
    public static final String MIN_LEVEL_PROPERTY = "repairbot.javac.min.level";

    @Override
    public void setJavac(Javac attributes) {
        String configured = attributes.getProject().getProperty(MIN_LEVEL_PROPERTY);
        int minimum = configured == null ? 8 : Integer.parseInt(configured.trim());
        if (below(attributes.getSource(), minimum)) {
            attributes.setSource(Integer.toString(minimum));
        }
        if (below(attributes.getTarget(), minimum)) {
            attributes.setTarget(Integer.toString(minimum));
        }
        super.setJavac(attributes);
    }

    /** Whether a level ("1.6", "6", "1.8", "11") is below {@code minimum}; unset is not. */
    static boolean below(String level, int minimum) {
        if (level == null || level.trim().isEmpty()) {
            return false;
        }
        String trimmed = level.trim();
        String major = trimmed.startsWith("1.") ? trimmed.substring(2) : trimmed;
        try {
            return Integer.parseInt(major) < minimum;
        } catch (NumberFormatException notANumber) {
            return false;
        }
    }
}
