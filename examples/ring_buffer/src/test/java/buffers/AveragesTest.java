package buffers;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class AveragesTest {
    @Test
    public void averageOfTheFirstReadings() {
        Averages averages = new Averages(3);
        assertEquals(4.0, averages.add(4.0), 1e-9);
        assertEquals(5.0, averages.add(6.0), 1e-9);
    }

    @Test
    public void averageOfTheLastThreeReadings() {
        Averages averages = new Averages(3);
        averages.add(1.0);
        averages.add(2.0);
        averages.add(3.0);
        assertEquals(3.0, averages.add(4.0), 1e-9);
    }
}
