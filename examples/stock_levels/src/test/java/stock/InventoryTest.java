package stock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class InventoryTest {
    private Inventory inventory;

    @BeforeEach
    void stockTheShelves() {
        inventory = new Inventory();
        inventory.track("bolts", 40, 10);
        inventory.track("nuts", 25, 10);
        inventory.track("washers", 5, 10);
    }

    @Test
    void receivingAddsUnits() {
        inventory.receive("nuts", 15);
        assertEquals(40, inventory.quantity("nuts"));
        assertEquals(85, inventory.totalUnits());
    }

    @Test
    void shippingRemovesUnits() {
        inventory.ship("bolts", 12);
        assertEquals(28, inventory.quantity("bolts"));
    }

    @Test
    void shippingMoreThanInStockFails() {
        IllegalStateException error = assertThrows(IllegalStateException.class, () -> inventory.ship("washers", 6));
        assertEquals("only 5 washers left", error.getMessage());
        assertEquals(5, inventory.quantity("washers"));
    }

    @Test
    void unknownItemsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> inventory.receive("screws", 1));
    }

    @Test
    void anEmptyWarehouseHasNothingToReorder() {
        assertEquals(List.of(), new Inventory().reorderList());
    }

    @Test
    void itemsBelowTheirLevelAreReordered() {
        assertEquals(List.of("washers"), inventory.reorderList());
    }

    @Test
    void wellStockedItemsAreNotReordered() {
        inventory.ship("nuts", 14);
        assertEquals(List.of("washers"), inventory.reorderList());
    }

    @Test
    void itemsDownToTheirLevelAreReordered() {
        inventory.ship("bolts", 30);
        assertEquals(List.of("bolts", "washers"), inventory.reorderList());
    }

    @Test
    void emptyShelvesAreReordered() {
        inventory.track("hinges", 0, 0);
        assertEquals(List.of("hinges", "washers"), inventory.reorderList());
    }
}
