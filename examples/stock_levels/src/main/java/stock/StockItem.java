package stock;

/**
 * One product on the shelf. An item is reordered as soon as its stock is down to its
 * reorder level: at the level, not only below it.
 */
public final class StockItem {
    private final String name;
    private final int reorderLevel;
    private int quantity;

    public StockItem(String name, int quantity, int reorderLevel) {
        if (quantity < 0 || reorderLevel < 0) {
            throw new IllegalArgumentException("negative stock for " + name);
        }
        this.name = name;
        this.quantity = quantity;
        this.reorderLevel = reorderLevel;
    }

    public String name() {
        return name;
    }

    public int quantity() {
        return quantity;
    }

    public void add(int units) {
        quantity += units;
    }

    public void remove(int units) {
        if (units > quantity) {
            throw new IllegalStateException("only " + quantity + " " + name + " left");
        }
        quantity -= units;
    }

    public boolean needsReorder() {
        return quantity < reorderLevel;
    }
}
