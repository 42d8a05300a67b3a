from kit.catalog_terms import candidates, code_candidates, code_key, fold, phrases


def test_fold_and_code_key():
    assert fold("  Cobertura   ÁGUA Verde ") == "cobertura agua verde"
    assert code_key("ap-1234") == code_key("AP 1234") == "AP1234"


def test_code_candidates_and_phrases():
    assert "AP1234" in code_candidates("vi o AP-1234 no Batel")
    assert "1" not in code_candidates("quero 1 quarto")
    assert "agua verde" in phrases("Algo na Água Verde?")
    assert "casa com piscina no batel" not in phrases("uma casa com piscina no Batel")  # five words
    text = "Oi! O AP-1234 ou a cobertura duplex no Água Verde?"
    assert candidates(text) == (code_candidates(text), phrases(text))
