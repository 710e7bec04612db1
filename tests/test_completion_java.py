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


def test_bare_calls_must_name_a_method_of_the_class(tmp_path: Path) -> None:
    """Issue 16: a Math patch called a method the project does not have; a bare call is now
    judged against the methods of the class around the hole (its own and inherited)."""
    engine = _engine(tmp_path)
    assert engine.allows("        sum = total(label, extra);", False)
    assert engine.allows("        sum = hashCode();", False)  # inherited from Object
    assert not engine.allows("        sum = totl(", False)
    assert not engine.allows("        return totalOf(label, extra);", False)
    assert engine.allows("        sum = tota", False)  # still being written: no parenthesis yet
    assert engine.allows("        if (sum > 0) { sum = total(label, extra); }", False)
    assert engine.allows("        sum = new Item().price();", False)  # a constructor, not a bare call
    assert engine.allows('        String s = "nothing(";', False)
    assert engine.allows("        // nothing(", False)


def test_bare_calls_of_static_imports_and_unknown_supertypes(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    path = tmp_path / "shop" / "Cart.java"
    for header, allowed in [
        ("import static java.lang.Math.max;\n", {"max": True, "min": False}),
        ("import static java.lang.Math.*;\n", {"max": True, "min": True, "maxx": False}),
    ]:
        source = SOURCE.replace("import java.util.List;\n", "import java.util.List;\n" + header)
        path.write_text(source)
        cut = source.index("        int sum = 0;")
        engine = JavaCompletionEngine(
            source[:cut], source[source.index("\n", cut) + 1 :], "\n", single_line=True, path=path, project_root=tmp_path
        )
        for name, expected in allowed.items():
            assert engine.allows(f"        sum = {name}(sum, 1);", False) is expected, (header, name)
    # A superclass outside the project and the JDK may hold any method: not judged.
    source = SOURCE.replace("public class Cart {", "public class Cart extends org.example.Base {")
    path.write_text(source)
    cut = source.index("        int sum = 0;")
    engine = JavaCompletionEngine(
        source[:cut], source[source.index("\n", cut) + 1 :], "\n", single_line=True, path=path, project_root=tmp_path
    )
    assert engine.allows("        sum = inheritedSomehow(1);", False)
