package buffers;

/** A moving average over the last few readings. */
public final class Averages {
    private final RingBuffer<Double> window;

    public Averages(int width) {
        window = new RingBuffer<>(width);
    }

    public double add(double reading) {
        window.push(reading);
        double sum = 0;
        for (double value : window.toList()) {
            sum += value;
        }
        return sum / window.size();
    }
}
