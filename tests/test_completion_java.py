"""The type-aware Java completion engine: JDK members read with javap, and the engine's
member checks on small real Java sources."""

from __future__ import annotations

import textwrap
from pathlib import Path

from repairbot.generate.completion_java import JavaCompletionEngine
from repairbot.languages import javap

SOURCE = textwrap.dedent("""\
    package shop;

    import java.util.ArrayList;
    import java.util.List;

    public class Cart {
        private final List<Integer> prices = new ArrayList<>();
        private Item first;

        public int total(String label, int[] extra) {
            ArrayList<Integer> list = new ArrayList<>();
            var anything = label;
            Item item = first;
            int sum = 0;
            return sum;
        }
    }
    """)
ITEM = textwrap.dedent("""\
    package shop;

    public class Item {
        private int cents;

        public int price() {
            return cents;
        }
    }
    """)


def _engine(tmp_path: Path) -> JavaCompletionEngine:
    (tmp_path / "shop").mkdir()
    path = tmp_path / "shop" / "Cart.java"
    path.write_text(SOURCE)
    (tmp_path / "shop" / "Item.java").write_text(ITEM)
    cut = SOURCE.index("        int sum = 0;")
    rest = SOURCE.index("\n", cut)
    return JavaCompletionEngine(SOURCE[:cut], SOURCE[rest + 1 :], "\n", single_line=True, path=path, project_root=tmp_path)


def test_javap_reads_jdk_members_with_inherited_ones() -> None:
    array_list = javap.members("java.util.ArrayList")
    assert array_list is not None and {"add", "size", "stream", "equals"} <= array_list
    assert "ArrayList" not in array_list  # constructors are not members
    string = javap.members("java.lang.String")
    assert string is not None and {"length", "charAt"} <= string
    assert javap.members("java.util.NoSuchClass") is None
    info = javap.read("java.util.ArrayList")
    assert info is not None and "java.util.AbstractList" in info.supertypes


def test_jdk_receivers(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.allows("        list.ad", False)
    assert not engine.allows("        list.foo", False)
    assert not engine.allows("        list.adx(1);", False)
    assert engine.allows("        list.add(1);", False)
    assert engine.forced("        list.siz") == "e"
    assert engine.forced("        list.ad") == ""  # add, addAll
    assert engine.allows("        int n = label.length() + prices.stream().count();", False)
    assert not engine.allows("        int n = label.lenght", False)
    assert engine.allows("        int n = extra.length;", False)
    assert not engine.allows("        int n = extra.size", False)


def test_unknown_receivers_are_not_judged(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.allows("        anything.whatever", False)  # `var`
    assert engine.allows("        unknown.whatever", False)
    assert engine.allows("        list.get(0).whatever", False)  # chained
    assert engine.allows("        Map<String, Integer> list = null; list.put", False)  # declared anew in the hole
    assert engine.allows('        String s = "list.foo";', False)  # in a literal
    assert engine.allows("        // list.foo", False)


def test_project_classes(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.allows("        sum = item.price();", False)
    assert not engine.allows("        sum = item.cost();", False)
    assert engine.forced("        sum = item.pr") == "ice"
    assert engine.allows("        sum = first.hashCode();", False)  # inherited from Object
    assert engine.allows("        sum = this.first.price();", False)
    assert not engine.allows("        sum = this.second", False)


def test_static_access(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.allows("        sum = Math.ab", False)
    assert engine.allows("        sum = Math.abs(sum);", False)
    assert not engine.allows("        sum = Math.zz", False)
    assert engine.allows("        sum = Integer.MAX_VALUE;", False)
    assert engine.allows("        Class<?> c = Item.class;", False)
