package stock;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The stock of one warehouse, by item name. */
public final class Inventory {
    private final Map<String, StockItem> items = new TreeMap<>();

    public void track(String name, int quantity, int reorderLevel) {
        items.put(name, new StockItem(name, quantity, reorderLevel));
    }

    public void receive(String name, int units) {
        item(name).add(units);
    }

    public void ship(String name, int units) {
        item(name).remove(units);
    }

    public int quantity(String name) {
        return item(name).quantity();
    }

    public int totalUnits() {
        int total = 0;
        for (StockItem item : items.values()) {
            total += item.quantity();
        }
        return total;
    }

    /** Names of the items to reorder, alphabetically. */
    public List<String> reorderList() {
        List<String> names = new ArrayList<>();
        for (StockItem item : items.values()) {
            if (item.needsReorder()) {
                names.add(item.name());
            }
        }
        return names;
    }

    private StockItem item(String name) {
        StockItem item = items.get(name);
        if (item == null) {
            throw new IllegalArgumentException("unknown item: " + name);
        }
        return item;
    }
}
