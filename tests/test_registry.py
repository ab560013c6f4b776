import pickle

import pytest

from bprop.layers.registry import Registry, lookup
from bprop.optim import OPTIMIZERS, SCHEDULES, Adam, CosineAnnealingLR, Loss, get_optimizer, get_schedule
from bprop.optim.metrics import METRICS, Accuracy, get_metric


class Cat:
    pass


class Dog:
    pass


def make_pets(**options):
    return Registry("pet", {"cat": Cat, "dog": Dog}, **options)


def test_registry_is_a_dict_that_builders_and_parsers_read_as_it_is():
    pets = make_pets()
    assert isinstance(pets, dict)
    assert sorted(pets) == ["cat", "dog"] and pets["cat"] is Cat and "dog" in pets
    assert pets.kind == "pet"
    assert repr(pets) == "Registry('pet', ['cat', 'dog'])"


def test_lookup_finds_an_entry_by_its_name():
    assert make_pets().lookup("dog") is Dog


def test_lookup_of_an_unknown_name_names_the_kind_and_lists_the_choices():
    with pytest.raises(ValueError) as err:
        make_pets().lookup("cow")
    assert str(err.value) == "unknown pet 'cow'; choose one of ['cat', 'dog']"


def test_lookup_error_starts_with_the_owner_and_ends_with_the_hint():
    pets = make_pets(hint="or pass a Pet")
    with pytest.raises(ValueError) as err:
        pets.lookup("cow", owner="Farm")
    assert str(err.value) == "Farm: unknown pet 'cow'; choose one of ['cat', 'dog'] or pass a Pet"


def test_lookup_is_case_sensitive_unless_the_registry_folds_case():
    with pytest.raises(ValueError, match="unknown pet 'Cat'"):
        make_pets().lookup("Cat")
    assert make_pets(fold_case=True).lookup("CaT") is Cat


@pytest.mark.parametrize("name", [None, 3, ["cat"], Cat])
def test_lookup_of_something_not_a_string_is_an_unknown_name(name):
    with pytest.raises(ValueError, match=r"unknown pet .*; choose one of \['cat', 'dog'\]"):
        make_pets(fold_case=True).lookup(name)


def test_lookup_function_works_on_a_plain_dict():
    pets = {"cat": Cat}
    assert lookup(pets, "cat", "pet") is Cat
    with pytest.raises(ValueError, match=r"^Zoo: unknown pet 'dog'; choose one of \['cat'\]$"):
        lookup(pets, "dog", "pet", owner="Zoo")


def test_register_adds_the_decorated_class_and_returns_it_unchanged():
    pets = make_pets()

    @pets.register("fox")
    class Fox:
        pass

    assert pets["fox"] is Fox and pets.lookup("fox") is Fox and Fox.__name__ == "Fox"


def test_register_refuses_a_name_already_taken():
    pets = make_pets()
    with pytest.raises(ValueError, match=r"Registry of pets: 'cat' is already"):
        pets.register("cat")(Dog)
    assert pets["cat"] is Cat


@pytest.mark.parametrize("name", ["", 7, None])
def test_registry_refuses_a_name_that_is_not_a_non_empty_string(name):
    with pytest.raises(ValueError, match="Registry of pets: a name must be a non-empty string"):
        Registry("pet", {name: Cat})


def test_a_registry_that_folds_case_refuses_an_upper_case_name():
    with pytest.raises(ValueError, match="names are looked up in lower case, got 'Cat'"):
        Registry("pet", {"Cat": Cat}, fold_case=True)


def test_registry_survives_pickling_with_its_kind():
    pets = pickle.loads(pickle.dumps(make_pets(fold_case=True, hint="or else")))
    assert dict(pets) == {"cat": Cat, "dog": Dog}
    assert (pets.kind, pets.fold_case, pets.hint) == ("pet", True, "or else")


# --- the registries of optim/ go through it ------------------------------------------

def test_optimizers_schedules_and_metrics_are_registries():
    for registry, kind in ((OPTIMIZERS, "optimizer"), (SCHEDULES, "lr schedule"), (METRICS, "metric")):
        assert isinstance(registry, Registry) and registry.kind == kind


def test_get_optimizer_refuses_an_unknown_name_with_the_choices():
    with pytest.raises(ValueError) as err:
        get_optimizer("lbfgs")
    assert str(err.value) == f"unknown optimizer 'lbfgs'; choose one of {sorted(OPTIMIZERS)}"
    assert isinstance(get_optimizer("ADAM"), Adam)


def test_get_schedule_refuses_an_unknown_name_with_the_choices():
    with pytest.raises(ValueError) as err:
        get_schedule("cosin")
    assert str(err.value) == f"unknown lr schedule 'cosin'; choose one of {sorted(SCHEDULES)}"
    assert isinstance(get_schedule("Cosine", T_max=5), CosineAnnealingLR)


def test_get_metric_refuses_an_unknown_name_and_accepts_a_metric_object():
    with pytest.raises(ValueError) as err:
        get_metric("accurcy")
    assert str(err.value) == (f"Trainer: unknown metric 'accurcy'; choose one of {sorted(METRICS)} "
                              "or pass a Metric")
    assert isinstance(get_metric("accuracy"), Accuracy)
    loss = Loss()
    assert get_metric(loss) is loss
