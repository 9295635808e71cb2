import pytest

from corpus.numerals import article_label, cn_to_int, int_to_cn


class TestNumerals:
    @pytest.mark.parametrize(
        "text,value",
        [("一", 1), ("十", 10), ("十五", 15), ("二十", 20), ("一百零一", 101), ("一百一十", 110),
         ("一千零一", 1001), ("两千", 2000), ("二〇二四", 2024), ("一九九七", 1997), ("45", 45), ("４５", 45),
         ("一万零一", 10001), ("廿", 20), ("三百八十四", 384), ("一千二百六十条"[:-1], 1260)],
    )
    def test_chinese_to_int(self, text, value):
        assert cn_to_int(text) == value

    @pytest.mark.parametrize("value", list(range(0, 1300)) + [2000, 10000, 10001, 100000, 120005])
    def test_round_trip(self, value):
        assert cn_to_int(int_to_cn(value)) == value

    @pytest.mark.parametrize("value,text", [(10, "十"), (11, "十一"), (110, "一百一十"), (1001, "一千零一"),
                                            (1010, "一千零一十"), (105, "一百零五")])
    def test_int_to_chinese_as_laws_write_it(self, value, text):
        assert int_to_cn(value) == text

    def test_article_label(self):
        assert article_label(20) == "第二十条"
        assert article_label(224, "之一") == "第二百二十四条之一"

    @pytest.mark.parametrize("bad", ["", "abc", "第十", "十x"])
    def test_rejects_non_numerals(self, bad):
        with pytest.raises(ValueError):
            cn_to_int(bad)


def test_article_label_grammar():
    from corpus.numerals import label_prefix, parse_label

    assert parse_label("第二十八条") == (28, "")
    assert parse_label("第一百一十条") == (110, "")
    assert parse_label("第二十条之一") == (20, "之一")
    assert parse_label("第十二章") is None and parse_label("") is None
    assert label_prefix("第十一条第一款第（二）项") == "第十一条"
    assert label_prefix("第二十条之一第二款") == "第二十条之一"
    assert label_prefix("本条例第十一条") == ""


def test_article_numbers_as_users_type_them():
    import pytest

    from corpus.errors import InvalidFilter
    from corpus.numerals import parse_article_number

    for text, want in (("20", (20, "")), ("第二十条", (20, "")), (" 第 20 条之一 ", (20, "之一")), ("20之一", (20, "之一")),
                       ("２０", (20, ""))):
        assert parse_article_number(text) == want
    for bad in ("", "第二十章", "abc", "20条款"):
        with pytest.raises(InvalidFilter) as err:
            parse_article_number(bad)
        assert "条文编号格式不正确" in err.value.message
