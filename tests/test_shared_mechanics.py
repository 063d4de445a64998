"""One home for each shared mechanic: the registry of model classes (and what is derived
from it), the save / load mixin every model class inherits, and the one data-root lookup."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hmmtl
from hmmtl import serialize
from hmmtl._registry import FORMER_MODULES, MODEL_CLASSES, REPRESENTATIONS
from hmmtl._text_api import TextTagging
from hmmtl.io.data_root import DATA_ENV, data_root, find_data_root
from hmmtl.serialize import ModelFileError, ModelFileMixin, model_class

from model_zoo import MODELS, TEST_DOMAINS, TEST_SENTENCES

ZOO = {m.name: m for m in MODELS}
PACKAGE = Path(hmmtl.__file__).resolve().parent

#: the classes whose own save / load wrappers are still to be replaced by the mixin's


@pytest.fixture(scope="module")
def fitted():
    """One fitted model of each registered class (fitted on first use)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = ZOO[name].fit()
        return cache[name]

    return get


# ----------------------------------------------------------------------------- the registry
def test_serialize_reads_the_one_registry():
    assert serialize.MODEL_CLASSES is MODEL_CLASSES
    assert serialize.FORMER_MODULES is FORMER_MODULES


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_every_registered_class_is_offered_by_hmmtl_and_its_module(name):
    cls = model_class(name)
    assert cls.__name__ == name
    assert getattr(hmmtl, name) is cls
    assert name in hmmtl.__all__
    module = sys.modules[MODEL_CLASSES[name]]
    assert getattr(module, name) is cls


@pytest.mark.parametrize("package", ["hmmtl", "hmmtl.ner", "hmmtl.transfer"])
def test_lazily_imported_names_are_listed_once_and_resolve(package):
    """A package that imports some names on first use lists them once (its ``_LAZY``);
    ``__all__`` offers each of them, and every name of ``__all__`` resolves, the lazy ones
    from the module ``_LAZY`` names."""
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__))
    assert set(module._LAZY) <= set(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        if name in module._LAZY:
            home = module._LAZY[name]
            if home.startswith("hmmtl."):
                assert value is getattr(importlib.import_module(home), name)
            else:
                assert value is getattr(importlib.import_module(f"{package}.{home}"), name)
    with pytest.raises(AttributeError, match="no attribute 'NotAName'"):
        module.NotAName  # noqa: B018


def test_the_registry_imports_nothing():
    """``import hmmtl`` and the command line's parsers read it; it must stay a leaf."""
    tree = ast.parse((PACKAGE / "_registry.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in imports] == ["__future__"]


def test_former_modules_name_old_homes_only():
    for name, modules in FORMER_MODULES.items():
        assert name in MODEL_CLASSES
        for module in modules:
            assert module != MODEL_CLASSES[name]
            with pytest.raises(ModuleNotFoundError):
                __import__(module)


def _rewrite_manifest(path, change):
    """The model file at ``path`` with ``change(manifest)`` applied to its manifest and the
    manifest's checksum made to match (a file as an earlier hmmtl wrote it)."""
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        payload = z.read("arrays.npz")
    change(manifest)
    manifest["manifest_sha256"] = serialize._manifest_digest(manifest)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arrays.npz", payload)
        z.writestr("manifest.json", json.dumps(manifest))


def _rename_module(path, module):
    """The model file at ``path`` as a file written when its class lived in ``module``."""
    _rewrite_manifest(path, lambda manifest: manifest["class"].update(module=module))


def test_a_file_naming_a_former_module_still_loads(tmp_path, fitted):
    path = fitted("Gazetteer").save(tmp_path / "g.hmmtl")
    _rename_module(path, "hmmtl.gazetteers")
    loaded = model_class("Gazetteer").load(path)
    assert loaded.names == fitted("Gazetteer").names
    _rename_module(path, "hmmtl.clusters")  # a former home, but of another class
    with pytest.raises(ModelFileError, match=r"said to live in module 'hmmtl.clusters', but "
                                             r"hmmtl's Gazetteer lives in 'hmmtl.ner'"):
        model_class("Gazetteer").load(path)


def test_a_recognizer_naming_former_modules_loads(tmp_path, fitted):
    """Files written before the NER package existed name hmmtl.clusters / hmmtl.gazetteers
    for the recognizer's parts (the first ready-made en-ner was such a file)."""
    model = fitted("NamedEntityRecognizer")
    path = model.save(tmp_path / "ner.hmmtl")

    def former_modules(manifest):
        children = manifest["meta"]["children"]
        for part, former in (("clusters", "hmmtl.clusters"), ("gazetteer", "hmmtl.gazetteers")):
            assert children[part]["module"] == "hmmtl.ner"
            children[part]["module"] = former

    _rewrite_manifest(path, former_modules)
    loaded = hmmtl.load(path)
    assert type(loaded).__name__ == "NamedEntityRecognizer"
    apply = ZOO["NamedEntityRecognizer"].apply
    assert apply(loaded, TEST_SENTENCES, TEST_DOMAINS) == apply(model, TEST_SENTENCES,
                                                                TEST_DOMAINS)


# ----------------------------------------------------------------------------- what a class can do
def test_labelers_are_the_classes_that_tag_text():
    """The command line asks a model's class whether it tags sentences."""
    labelers = {n for n in MODEL_CLASSES if issubclass(model_class(n), TextTagging)}
    assert labelers == {"LinearChainCRF", "AveragedPerceptron", "Tagger", "DomainAugmentedCRF",
                        "NamedEntityRecognizer", "MultiTaskTagger"}


def test_the_command_line_refuses_a_model_that_does_not_tag(tmp_path, fitted):
    from hmmtl.cli._common import CommandError, load_labeler

    hmm_path = fitted("CategoricalHMM").save(tmp_path / "hmm.hmmtl")
    with pytest.raises(CommandError, match=r"holds a CategoricalHMM, which gives hidden "
                                           r"states, not tags"):
        load_labeler(str(hmm_path))
    gaz_path = fitted("Gazetteer").save(tmp_path / "gaz.hmmtl")
    with pytest.raises(CommandError, match=r"holds a Gazetteer, which does not tag sentences"):
        load_labeler(str(gaz_path))
    crf_path = fitted("LinearChainCRF").save(tmp_path / "crf.hmmtl")
    model, _ = load_labeler(str(crf_path))
    assert model.predict(TEST_SENTENCES) == fitted("LinearChainCRF").predict(TEST_SENTENCES)


def test_representations_are_named_once(fitted):
    from hmmtl.transfer.pipeline import REPRESENTATIONS as tagger_kinds
    from hmmtl.transfer.pipeline import check_representations

    assert tagger_kinds is REPRESENTATIONS
    assert check_representations(",".join(REPRESENTATIONS)) == REPRESENTATIONS
    hmm = fitted("CategoricalHMM")
    for kind in REPRESENTATIONS:
        assert len(hmm.transform(TEST_SENTENCES, kind=kind)) == sum(map(len, TEST_SENTENCES))
    with pytest.raises(ValueError, match=r"kind must be one of 'viterbi', 'posterior'"):
        hmm.transform(TEST_SENTENCES, kind="states")
    help_text = subprocess.run([sys.executable, "-m", "hmmtl", "train", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert ",".join(REPRESENTATIONS) in " ".join(help_text.split())


def test_the_command_line_refuses_an_unknown_representation(tmp_path, capsys):
    from hmmtl.cli import main

    train = tmp_path / "train.conll"
    train.write_text("the DT\ndog NN\n\n", encoding="utf-8")
    code = main(["train", "--train", str(train), "--represent", "viterbi,states",
                 "--out", str(tmp_path / "m.hmmtl")])
    assert code != 0
    assert "unknown ['states']; choose from viterbi,posterior,type,type_cluster" in \
        capsys.readouterr().err


# ----------------------------------------------------------------------------- the mixin
@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_every_class_saves_and_loads_through_the_mixin(name):
    cls = model_class(name)
    assert issubclass(cls, ModelFileMixin)
    assert "save" not in vars(cls) and "load" not in vars(cls)
    assert cls.save is ModelFileMixin.save
    assert cls.load.__func__ is ModelFileMixin.load.__func__


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_every_class_round_trips_save_and_load(tmp_path, fitted, name):
    model = fitted(name)
    path = model.save(tmp_path / "m.hmmtl")
    assert path == tmp_path / "m.hmmtl" and path.is_file()
    loaded = type(model).load(path)
    assert type(loaded) is type(model)
    apply = ZOO[name].apply
    assert apply(loaded, TEST_SENTENCES, TEST_DOMAINS) == \
        apply(model, TEST_SENTENCES, TEST_DOMAINS)


def test_the_mixin_keeps_info_beside_the_model(tmp_path, fitted):
    path = fitted("LinearChainCRF").save(tmp_path / "m.hmmtl", info={"tag_column": "upos"})
    assert serialize.read_manifest(path)["info"] == {"tag_column": "upos"}


def _other_class(name: str) -> str:
    """A registered class that a file of ``name`` is not an instance of."""
    cls = model_class(name)
    for other in ("Gazetteer", "LinearChainCRF"):
        if not issubclass(cls, model_class(other)):
            return other
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_loading_a_file_as_another_class_is_refused(tmp_path, fitted, name):
    path = fitted(name).save(tmp_path / "m.hmmtl")
    other = _other_class(name)
    with pytest.raises(ModelFileError, match=rf"m.hmmtl: holds a {name} model, expected a "
                                             rf"{other}; load it with hmmtl.load or "
                                             rf"{name}.load"):
        model_class(other).load(path)
    assert type(hmmtl.load(path)).__name__ == name


def test_a_subclass_file_loads_as_its_base_class_but_not_the_reverse(tmp_path, fitted):
    from hmmtl.hmm import CategoricalHMM, MultiDomainHMM

    multi = fitted("MultiDomainHMM").save(tmp_path / "multi.hmmtl")
    assert type(CategoricalHMM.load(multi)) is MultiDomainHMM
    plain = fitted("CategoricalHMM").save(tmp_path / "plain.hmmtl")
    with pytest.raises(ModelFileError, match=r"holds a CategoricalHMM model, expected a "
                                             r"MultiDomainHMM"):
        MultiDomainHMM.load(plain)


# ----------------------------------------------------------------------------- the data root
def test_data_root_is_the_given_folder_else_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_root() is None and find_data_root() is None
    assert data_root(tmp_path / "x") == tmp_path / "x"
    assert find_data_root(tmp_path / "x") is None  # given but missing
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_root() == tmp_path
    assert find_data_root() == tmp_path.resolve()
    assert find_data_root(tmp_path / "x") is None  # a given folder is not replaced
    (tmp_path / "x").mkdir()
    assert find_data_root(str(tmp_path / "x")) == (tmp_path / "x").resolve()
    monkeypatch.setenv(DATA_ENV, "")
    assert data_root() is None


def test_the_callers_share_the_lookup(monkeypatch, tmp_path):
    from hmmtl._info import _data_info
    from hmmtl.cli._common import CommandError, data_dir
    from hmmtl.io import nltk_data_dir
    from hmmtl.ner.gazetteers import load_lexicon

    (tmp_path / "nltk_data").mkdir()
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_dir(None) == tmp_path.resolve()
    assert nltk_data_dir() == (tmp_path / "nltk_data").resolve()
    info = _data_info(None)
    assert info["source"] == DATA_ENV and info["found"] and info["path"] == str(tmp_path)
    with pytest.raises(CommandError, match=r"--data '.*nowhere': no such folder"):
        data_dir(str(tmp_path / "nowhere"))
    monkeypatch.delenv(DATA_ENV)
    assert data_dir(None) is None and nltk_data_dir() is None
    with pytest.raises(FileNotFoundError, match=r"set HMMTL_DATA"):
        load_lexicon()


def _reads_the_environment(node: ast.AST) -> bool:
    """``os.environ.get("HMMTL_DATA")``, ``os.environ["HMMTL_DATA"]``, ``os.getenv(...)``."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("get", "getenv"):
            return _names_the_variable(node.args[0])
    if isinstance(node, ast.Subscript):
        return _names_the_variable(node.slice)
    return False


def _names_the_variable(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and node.value == DATA_ENV) or \
        (isinstance(node, ast.Name) and node.id == "DATA_ENV")


def test_one_module_reads_hmmtl_data():
    readers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if any(map(_reads_the_environment,
                                ast.walk(ast.parse(p.read_text(encoding="utf-8"))))))
    assert readers == ["io/data_root.py"]


def test_the_environment_check_finds_readers():
    tree = ast.parse('import os\na = os.environ.get("HMMTL_DATA")\nb = os.environ["X"]\n'
                     'c = os.getenv(DATA_ENV)\nd = os.environ["HMMTL_DATA"]')
    assert [_reads_the_environment(n) for n in ast.walk(tree)].count(True) == 3
