package buffers;

import java.util.ArrayList;
import java.util.List;

/**
 * The last `capacity` values pushed, oldest first. The values live in a fixed array used
 * as a ring: `head` is the slot of the oldest value, and pushing into a full buffer
 * overwrites it.
 */
public final class RingBuffer<T> {
    private final Object[] items;
    private int head;
    private int size;

    public RingBuffer(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        items = new Object[capacity];
    }

    public int size() {
        return size;
    }

    public boolean isFull() {
        return size == items.length;
    }

    public void push(T value) {
        items[(head + size) % items.length] = value;
        if (isFull()) {
            head = (head + 1) % items.length;
        } else {
            size++;
        }
    }

    public T pop() {
        T oldest = get(0);
        items[head] = null;
        head = (head + 1) % items.length;
        size--;
        return oldest;
    }

    /** The index-th oldest value. */
    @SuppressWarnings("unchecked")
    public T get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " of " + size);
        }
        return (T) items[head + index];
    }

    public List<T> toList() {
        List<T> values = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            values.add(get(i));
        }
        return values;
    }
}
