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
