package buffers;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;

import org.junit.Test;

public class RingBufferTest {
    private static RingBuffer<String> filled(int capacity, String... values) {
        RingBuffer<String> buffer = new RingBuffer<>(capacity);
        for (String value : values) {
            buffer.push(value);
        }
        return buffer;
    }

    @Test
    public void valuesComeBackOldestFirst() {
        RingBuffer<String> buffer = filled(3, "a", "b");
        assertEquals(Arrays.asList("a", "b"), buffer.toList());
        assertEquals("b", buffer.get(1));
        assertFalse(buffer.isFull());
    }

    @Test
    public void sizeStopsAtCapacity() {
        RingBuffer<String> buffer = filled(2, "a", "b", "c", "d");
        assertEquals(2, buffer.size());
        assertTrue(buffer.isFull());
    }

    @Test
    public void popTakesTheOldest() {
        RingBuffer<String> buffer = filled(3, "a", "b", "c");
        assertEquals("a", buffer.pop());
        assertEquals("b", buffer.pop());
        assertEquals(1, buffer.size());
    }

    @Test(expected = IndexOutOfBoundsException.class)
    public void getPastTheEndFails() {
        filled(3, "a").get(1);
    }

    @Test
    public void fullBufferDropsTheOldest() {
        RingBuffer<String> buffer = filled(3, "a", "b", "c", "d");
        assertEquals(Arrays.asList("b", "c", "d"), buffer.toList());
    }

    @Test
    public void valuesWrapAroundAfterPops() {
        RingBuffer<String> buffer = filled(3, "a", "b", "c");
        buffer.pop();
        buffer.pop();
        buffer.push("d");
        assertEquals("d", buffer.get(1));
    }
}
