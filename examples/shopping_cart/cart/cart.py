"""Cart lines, coupons, tax and shipping."""

from __future__ import annotations

from dataclasses import dataclass

TAX_PERCENT = 8
SHIPPING_CENTS = 499
FREE_SHIPPING_FROM_CENTS = 5000


@dataclass
class Item:
    sku: str
    unit_cents: int
    quantity: int = 1

    def line_total(self) -> int:
        return self.unit_cents * self.quantity


class Cart:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.coupon_percent = 0

    def add(self, sku: str, unit_cents: int, quantity: int = 1) -> None:
        if quantity < 1:
            raise ValueError("quantity must be positive")
        if sku in self.items:
            self.items[sku].quantity += quantity
        else:
            self.items[sku] = Item(sku, unit_cents, quantity)

    def remove(self, sku: str, quantity: int = 1) -> None:
        item = self.items[sku]
        item.quantity -= quantity
        if item.quantity < 1:
            del self.items[sku]

    def apply_coupon(self, percent: int) -> None:
        if not 0 < percent <= 100:
            raise ValueError("a coupon takes 1 to 100 percent off")
        self.coupon_percent = percent

    def subtotal(self) -> int:
        return sum(item.line_total() for item in self.items.values())

    def discount(self) -> int:
        return self.subtotal() * self.coupon_percent // 100

    def tax(self) -> int:
        return (self.subtotal() - self.discount()) * TAX_PERCENT // 100

    def shipping(self) -> int:
        if not self.items or self.subtotal() - self.discount() >= FREE_SHIPPING_FROM_CENTS:
            return 0
        return SHIPPING_CENTS

    def total(self) -> int:
        return self.subtotal() + self.discount() + self.tax() + self.shipping()
