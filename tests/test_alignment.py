"""The verifier's alignment checks, each on its own: what a careful reader looks at
when lining a claim up with its evidence (no embedder needed)."""

from __future__ import annotations

import pytest

from rag.alignment import (
    _construals,
    compounds,
    negation_conflict,
    opposite_terms,
    word_kind,
)
from rag.lexicon import is_framing
from rag.parties import (
    displaced_agent,
    displaced_name,
    speaking_voice,
    substituted_name,
    substituted_possessor,
    swapped_names,
    swapped_sides,
    unvoiced_emphasis,
)
from rag.relations import order_reversals, swapped_relation
from rag.text import clauses, phrases, split_sentences
from rag.verifier import default_params


@pytest.mark.parametrize(("word", "kind"), [
    ("argues", "framing"), ("describes", "framing"), ("likens", "framing"), ("mentioned", "framing"),
    ("author", "source"), ("profile", "source"), ("summary", "source"),
    ("during", "common"), ("toward", "common"), ("next", "common"), ("plus", "common"),
    ("years", "specific"), ("months", "specific"), ("decade", "specific"),  # common words, but a changed date
    ("half", "specific"), ("double", "specific"), ("twice", "specific"),  # common words, but an amount
    ("percent", "common"),  # "60 percent" restates "60%": the number is what is checked
    ("creativity", "specific"), ("hospitals", "specific"), ("regulatory", "specific"),
])
def test_missing_words_are_told_apart(word: str, kind: str) -> None:
    assert word_kind(word, 5.0) == kind


def test_a_word_written_as_one_or_as_two_is_the_same_word() -> None:
    assert compounds("He curated the data set by hand.", "He built the dataset himself.") == {"data", "set"}
    assert compounds("You return to your own codebase.", "You will come back to your code base.") == {"codebas"}
    assert compounds("He curated the data by hand.", "He built the dataset himself.") == set()
    assert compounds("He kept the data. Set aside the rest.", "He built the dataset himself.") == set()


def test_framing_is_reporting_not_denying_and_not_a_noun() -> None:
    assert not is_framing("denies") and not is_framing("disputes")  # they flip what the passage says
    assert not is_framing("books") and not is_framing("audits")  # mostly nouns
    assert not is_framing("names") and is_framing("names", as_verb=True)  # "the profile names ..."
    assert not is_framing("generate") and not is_framing("plays")  # not reporting verbs
    # Saying them does something: "the agency certified the length", "the Empire decreed that …".
    assert not is_framing("certified") and not is_framing("decreed") and not is_framing("guarantees")
    assert is_framing("argues") and is_framing("describes")


def test_a_verb_that_says_how_something_is_put_is_framing() -> None:
    """"He frames it as …", "the critique adds that …": a reporting sense of the verb
    will do. "offers LLM101n free of charge as part of …" is no such use: a fact."""
    assert word_kind("frames", 5.0) == "specific" and word_kind("adds", 5.0) == "specific"
    assert "frames" in _construals("He frames it as documenting for your future self.")
    assert "adds" in _construals("The critique adds that he departed just then.")
    assert "treats" in _construals("He treats the transformer as a blob you give data to.")
    assert word_kind("frames", 5.0, construal=True) == "framing"
    assert not _construals("Eureka Labs offers LLM101n free of charge as part of its school.")
    assert not _construals("He frames, as he had planned.")  # punctuation between
    # Verbs that put a thing "as" something by selling, branding or endorsing it state facts.
    assert not _construals("The BBC sells Doctor Who as a science-fiction programme.")
    assert not _construals("Cologne brands itself as the biggest city on the Rhine.")
    assert not _construals("The critique adds the chart as an appendix.")  # "adds" frames only with "that"
    # Nouns and relative clauses are no construal.
    assert not _construals("It uses frames as the basic unit.") and not _construals("His notes that year were short.")
    assert not _construals("The update adds features that users asked for.")


def test_negation_is_counted_on_the_terms_both_sides_share() -> None:
    window = ("Karpathy advocates tools that enhance people rather than trying to replace them completely. "
              "The most successful AI applications today operate with a human-in-the-loop.")
    claim = "The most successful AI applications today run fully autonomously, without a human in the loop."
    assert negation_conflict(claim, window)  # the window's own "rather than" elsewhere is no excuse
    assert not negation_conflict("Open-sourcing can strengthen a company's competitive position.",
                                 "Open-sourcing can strengthen rather than weaken competitive position.")


def test_what_a_rather_than_sets_aside_is_not_asserted() -> None:
    """"instead of writing explicit C++ logic" agrees with "no longer write explicit C++
    logic", although the pair itself denies only "writing"; stating the set-aside part
    as what happens still conflicts."""
    window = "Programmers no longer write explicit C++ logic. They curate datasets instead."
    assert not negation_conflict("Programmers curate datasets instead of writing explicit C++ logic.", window)
    assert negation_conflict("Programmers write explicit C++ logic instead of curating datasets.", window)
    strengthen = "Open-sourcing can strengthen rather than weaken competitive position."
    assert not negation_conflict("Open source is an advantage rather than something that weakens a company's "
                                 "competitive position.", strengthen)
    # After a verb, what follows the second verb is both verbs' object, and stays asserted.
    assert negation_conflict("Open-sourcing can strengthen rather than weaken competitive position.",
                             "Open-sourcing does not help competitive position.")


def test_a_denial_is_read_in_the_sentence_closest_to_the_claim() -> None:
    window = "Tesla does not use LiDAR. Waymo uses LiDAR on every car."
    assert negation_conflict("Tesla uses LiDAR.", window)
    assert not negation_conflict("Waymo uses LiDAR.", window)
    ward = ("Overall, the Mongol violence and depredations killed up to three-fourths of the population of the "
            "Iranian Plateau. Some historians estimate that Iran's population did not again reach its pre-Mongol "
            "levels until the mid-20th century.")
    assert not negation_conflict("Mongol violence killed up to three-fourths of the Iranian Plateau's population.",
                                 ward)


def test_you_opens_a_clause_only_after_a_word_that_introduces_one() -> None:
    from rag.text import negated_terms

    assert "look" not in negated_terms("You can't see it when you look at any individual example.")
    assert "pictur" in negated_terms("Benchmarks don't give you the full picture.")


def test_wordnet_opposites_contradict() -> None:
    window = "The report suggests that the epidemic may be improving, as prevalence is declining."
    assert opposite_terms("The report found that the epidemic is worsening, with prevalence rising.", window)
    assert not opposite_terms("The report suggests the epidemic may be improving.", window)


def test_a_change_of_voice_is_not_a_swapped_relation() -> None:
    window = "Sam Altman and Elon Musk founded OpenAI in 2015."
    assert order_reversals("OpenAI was founded in 2015 by Sam Altman and Elon Musk.", window) == 0.0
    waymo = ("I think that Tesla has a software problem and I think Waymo has a hardware problem... "
             "and I think software problems are much easier.")
    limit = default_params().max_order
    assert order_reversals("Tesla has a hardware problem while Waymo has a software problem.", waymo) > limit
    assert order_reversals("Tesla has a software problem while Waymo has a hardware problem.", waymo) < limit
    # A heading naming both ("On Tesla vs Waymo:") shifts the order; the parties' roles still differ.
    headed = "On Tesla vs Waymo: " + waymo
    assert swapped_names("He says Tesla has a hardware problem while Waymo has a software problem.", headed)
    assert not swapped_names("He says Tesla has a software problem while Waymo has a hardware problem.", headed)


def test_a_fronted_part_is_not_a_swapped_relation() -> None:
    """A strong model leads with the answer or the reason; each part keeps its order."""
    window = "The team keeps retraining the model as the fleet keeps finding new edge cases."
    fronted = "Because the fleet keeps finding new edge cases, the team keeps retraining the model."
    assert order_reversals(fronted, window) == 0.0
    hashes = ("I think the current models are wasting a ton of capacity remembering stuff that doesn't matter, "
              "like SHA hashes.")
    assert order_reversals("SHA hashes are his example: current models waste capacity remembering stuff.",
                           hashes) == 0.0
    # Fronting may not move a connective to the other part: cause and effect swapped.
    curated = "Because the data set is badly curated, the models waste capacity on hashes."
    assert order_reversals("Because the models waste capacity on hashes, the data set is badly curated.",
                           curated) > 0.0
    # Nor with fewer than four terms, where a fronted term is as often a swapped one (this
    # case would read the same either way; it pins the limit).
    assert order_reversals("Waymo, Tesla beat.", "Tesla beat Waymo.") > 0.0


def test_the_sentence_that_states_a_relation_is_read_on_its_own() -> None:
    """Sentences around the one that states the claim use the same terms in other relations."""
    limit = default_params().max_order
    window = ("Ostrander's guild soon became the supplier to the city. Nobody thought the weavers "
              "were the owners anymore. The weavers were now the tenants of the hall and the guild "
              "was the owner of the looms.")
    claim = "The weavers were the tenants of the hall, while the guild was the owner of the looms."
    assert order_reversals(claim, window) < limit
    # A heading before a colon is no part of the sentence, and "like" links two things.
    looms = ("Looms can be far simpler: > I do think the current looms are wasting a lot of thread "
             "on patterns that don't matter, like the old Halloran borders.")
    assert order_reversals("Halloran borders are his example: current looms waste thread on things "
                           "like that which don't matter.", looms) < limit
    # The same sentence read on its own still catches the parties swapped.
    swapped = "The guild was the tenant of the hall, while the weavers were the owners of the looms."
    assert order_reversals(swapped, window) > limit


def test_a_clause_given_to_another_party_is_a_substitution() -> None:
    window = ("Ostrander founded the weavers' guild in 1882 and ran it for a decade. "
              "His rival, Marlow, sold the printing press to the city council.")
    # One name in the claim: what the window says of Ostrander is given to Marlow.
    assert substituted_name("Marlow founded the weavers' guild and ran it for a decade.", window)
    assert not substituted_name("Ostrander founded the weavers' guild and ran it for a decade.", window)
    # A pronoun on either side is no other party: "he" may be Ostrander.
    assert not substituted_name("He founded the weavers' guild and ran it for a decade.", window)
    assert not substituted_name("Ostrander founded the guild.", "In Leeds he founded the guild and ran it.")
    # A name the claim mentions only after its subject is no substitution of the subject.
    assert not substituted_name("He sold the printing press to the city council, Marlow says.", window)


def test_a_dotted_name_stays_one_party() -> None:
    # "Loom 1.0" is one name: its full stop ends no phrase, so the clause it opens is
    # what the window says of it, and a claim giving it to "Harrow 2.0" is caught.
    window = "Loom 1.0 ran on hand cranks and foot pedals for a decade. Loom 2.0 ran on steam."
    assert substituted_name("Harrow 2.0 ran on hand cranks and foot pedals for a decade.", window)
    assert not substituted_name("Loom 1.0 ran on hand cranks and foot pedals for a decade.", window)


def test_sentences_split_into_statements_and_phrases() -> None:
    assert clauses("In 1972 almost all episodes existed, while by 1978 the practice had stopped.") == [
        "In 1972 almost all episodes existed", "by 1978 the practice had stopped."]
    assert clauses("Whereas UK law required one pound, Denmark's wanted more; Sweden's none.") == [
        "Whereas UK law required one pound,", "Denmark's wanted more", "Sweden's none."]
    # "and" joins two verbs of one subject: one statement.
    assert clauses("The firm was founded in 2010 and shipped its first loom in 2014.") == [
        "The firm was founded in 2010 and shipped its first loom in 2014."]
    assert phrases("Loom 1.0 ran on cranks, but Loom 2.0 ran on steam. It won.") == [
        "Loom 1.0 ran on cranks", "Loom 2.0 ran on steam", "It won"]
    assert phrases("He boiled them alive.[12] Temujin won.") == ["He boiled them alive", "[12] Temujin won"]
    assert phrases("Tesla has a software problem and Waymo has a hardware problem", conjoined=True) == [
        "Tesla has a software problem", "Waymo has a hardware problem"]


def test_a_possession_given_to_another_name_is_a_substitution() -> None:
    window = "Citing Halloran's careful survey of the delta, Ostrander argued the canal should be moved."
    assert substituted_possessor("The canal plan rested on Ostrander's careful survey of the delta.", window)
    assert not substituted_possessor("The canal plan rested on Halloran's careful survey of the delta.", window)
    # A possessor the claim names elsewhere is a rewording, and "his" names no one.
    assert not substituted_possessor("In Halloran's view, Ostrander's survey of the delta was careful.", window)
    assert not substituted_possessor("He cited a careful survey of the delta.", window)
    # A hyphenated owner is one name; a capitalised common word owns nothing.
    assert not substituted_possessor("Rolls-Royce's engines power the jet.", "The jet runs on Rolls-Royce's engines.")
    assert not substituted_possessor("Tesla's cars use only cameras.", "Today's Tesla cars use only cameras.")


def test_the_sides_of_a_contrast_may_not_trade_what_the_window_says() -> None:
    window = ("Rival mills relied on river water and wooden wheels. "
              "Ostrander bet the whole weaving works on steam engines alone.")
    swapped = "While Ostrander's works relied on river water and wooden wheels, rival mills bet everything on steam."
    assert swapped_sides(swapped, window)
    assert not swapped_sides("While rival mills relied on river water and wooden wheels, Ostrander bet the "
                             "works on steam engines alone.", window)
    # Sides told apart by a number, as in "Version 1.0" / "Version 2.0".
    versions = "Loom 1.0 relied on hand cranks and foot pedals. Loom 2.0 relies on steam pressure and cams."
    assert swapped_sides("Loom 1.0 relied on steam pressure and cams, whereas Loom 2.0 relies on hand cranks "
                         "and foot pedals.", versions)
    assert not swapped_sides("Loom 1.0 relied on hand cranks and foot pedals, whereas Loom 2.0 relies on steam "
                             "pressure and cams.", versions)
    # A name the clause compares with is not what the clause is about.
    compared = ("Rival mills relied on river water and wooden wheels. Ostrander's works are different: "
                "compared with rival mills they bet on steam engines alone.")
    assert not swapped_sides("Rival mills relied on river water and wooden wheels, while Ostrander's works bet on "
                             "steam engines alone.", compared)
    # "Although" sets two sides against each other as "while" does; the word opening a
    # leading contrast is on neither side, and a concession about the same subject ("he")
    # has only one.
    assert swapped_sides("Ostrander's works relied on river water and wooden wheels, although rival mills bet "
                         "everything on steam.", window)
    assert swapped_sides("Whereas rival mills bet everything on steam engines, Ostrander relied on river water "
                         "and wooden wheels.", window)
    assert not swapped_sides("Although rival mills relied on river water and wooden wheels, Ostrander bet the "
                             "works on steam engines alone.", window)
    assert not swapped_sides("Ostrander left the guild in 1890, although he later returned to it in 1895.",
                             "Ostrander left the guild in 1890 to found a mill. Ostrander returned to the guild "
                             "in 1895.")
    # No contrast, nothing to swap; a quotation's full stop ends its clause.
    assert not swapped_sides("Rival mills relied on river water and wooden wheels.", window)
    quoted = ('He wrote that "the mills are neither fast nor cheap." His letter added that steam would '
              'likely win within a decade.')
    assert not swapped_sides("He wrote that the mills were neither fast nor cheap, but that steam would likely "
                             "win within a decade.", quoted)


def test_an_equation_may_be_stated_either_way_round_but_its_sides_may_not_trade_terms() -> None:
    limit = default_params().max_order
    window = ('30. The Best Regularizer is More Data: "It is a very common mistake to spend a lot of '
              'engineering cycles trying to squeeze juice out of a small dataset."')
    assert order_reversals("He considers more data to be the best regularizer.", window) == 0.0
    assert order_reversals("More data is the best regularizer.", window) == 0.0
    # Not an inversion: one term moved across "is", the other stayed on its side.
    assert order_reversals("Waymo is ahead of Tesla in robotaxis.", "Tesla is ahead of Waymo in robotaxis.") > limit
    assert order_reversals("Karpathy was the student of Fei-Fei Li.", "Fei-Fei Li was the student of Karpathy.") > limit
    # Nor when the passage also names the role on the other side, or a quantifier makes it one-way.
    assert order_reversals("Karpathy was the advisor of Fei-Fei Li.",
                           "Fei-Fei Li, a celebrated Stanford advisor, was the advisor of Karpathy.") > limit
    assert order_reversals("Most transformers are language models.", "Most language models are transformers.") > limit


def test_swapped_sides_of_from_to_and_over() -> None:
    window = 'The focus is shifting from "can we train it?" to "can we deploy it affordably?"'
    assert swapped_relation('The question is shifting from "can we deploy it affordably?" to "can we train it?"',
                            window)
    assert not swapped_relation('The focus moves from "can we train it?" to "can we deploy it affordably?"', window)
    quality = "The emphasis on data quality over model size is good news for startups."
    assert swapped_relation("The summary puts model size over data quality.", quality)
    assert not swapped_relation("The summary puts data quality over model size.", quality)


def test_a_sentence_goes_on_after_a_quoted_question_and_a_title() -> None:
    text = 'The focus shifts from "can we train it?" to "can we deploy it?" He was Tesla\'s Sr. Director of AI.'
    assert split_sentences(text) == ['The focus shifts from "can we train it?" to "can we deploy it?"',
                                     "He was Tesla's Sr. Director of AI."]


def test_a_dash_bracket_or_table_bar_ends_a_negation() -> None:
    from rag.text import negated_terms

    assert negated_terms("expensive hardware that doesn't scale—then distills those signals") == {"scale"}
    assert negated_terms("Vision-only perception (No LiDAR/Radar) | Proven viability") == {"lidar", "radar"}
    assert negated_terms("Tesla does not use LiDAR sensors") == {"use", "lidar", "sensor"}
    window = "Karpathy explains that Tesla runs cars with LiDAR during data collection—expensive hardware that " \
             "doesn't scale—then distills those signals into a vision-only production package."
    assert not negation_conflict("Tesla distills the signals into a vision-only production package.", window)
    assert negation_conflict("Tesla's hardware scales.", window)


def test_not_only_asserts_and_an_absence_denies() -> None:
    from rag.text import negated_terms

    window = ("The mill opened the year 14-0, not only setting guild records for the best start but also posting the "
              "best start in the valley's history.")
    assert negated_terms(window) == set()
    assert not negation_conflict("The mill set guild records for the best start.", window)
    assert negated_terms("In the absence of census figures, historians guess") == {"census", "figur"}
    assert not negation_conflict("Without census figures, historians guess the population.",
                                 "In the absence of census figures, historians guess the population.")
    assert negation_conflict("Census figures let historians count the population.",
                             "In the absence of census figures, historians guess the population.")


def test_calling_it_something_misleading_denies_it() -> None:
    from rag.text import negated_terms

    window = "The Halloran mill, I don't think it's a flour mill. This is a paper company, a printing company."
    claim = "He says the Halloran mill is really a paper company, and that calling it a flour mill is misleading."
    assert negated_terms(claim) >= {"flour", "mill"}
    assert not negation_conflict(claim, window)
    assert not negation_conflict("It would be wrong to call it a flour mill, he says.", window)
    assert not negation_conflict("No, calling Halloran a flour mill is misleading.", window)
    # Calling it so is no denial unless the calling is judged wrong.
    assert negated_terms("He enjoys calling it a flour mill.") == set()
    assert negation_conflict("He says calling it a flour mill is exactly right.", window)

def test_dont_think_denies_the_predicate_not_the_subject() -> None:
    from rag.text import negated_terms

    window = "I don't think that the loom design is holding the guild back anymore."
    assert negated_terms(window) == {"think", "hold", "guild", "back", "anymor"}
    assert not negation_conflict("He says the loom design is no longer holding the guild back.", window)
    # "want" takes an object, and the negation keeps it: "I don't want the future where …".
    assert "futur" in negated_terms("I don't want the future where weavers are on the side of automation.")
    # "stopped being" denies as "no longer" does, up to the next clause ("once …").
    assert negated_terms("The loom stopped being the bottleneck once Ostrander arrived.") == {"bottleneck"}


def test_denials_without_not_and_what_a_negation_leaves_asserted() -> None:
    """Negative adjectives, postposed denials, "too ... to" and "not enough ... to" deny
    as "not" does; a comparison's object and the words before "to" stay asserted; and a
    term one clause of the claim denies while another asserts it is not denied outright."""
    from rag.text import negated_terms

    window = "Pell noted that the reported yields were inconsistent with the modern Marlow loom."
    assert {"modern", "marlow", "loom"} <= negated_terms(window)
    assert not negation_conflict("Pell noted that the reported yields didn't match the modern Marlow loom.", window)
    assert negation_conflict("Pell noted that the reported yields matched the modern Marlow loom.", window)
    # A prefix that does not negate opens nothing: "intended to", "increase to".
    assert negated_terms("The guild intended to launch the loom.") == set()
    assert negated_terms("Output will increase to 50 bolts.") == set()
    # An adverb before "with" is not a denied adjective's complement.
    assert negated_terms("saturating them unconsciously with electricity") == {"conscious"}
    # "are lacking" denies what comes before it, as "the lack of" denies what follows.
    assert negated_terms("Reliable ledgers are lacking for that decade.") >= {"reliabl", "ledger"}
    # "not enough X to Y" and "too low to Y" both deny Y, not X.
    window = "The volume of weaving data is too low to train the loom from scratch."
    assert negated_terms(window) == {"train", "loom", "scratch"}
    claim = "There isn't enough weaving data to train the loom from scratch."
    assert "data" not in negated_terms(claim) and not negation_conflict(claim, window)
    assert negation_conflict("There is enough weaving data to train the loom from scratch.", window)
    # "don't weave as well as the Marlow loom" denies the weaving, not the Marlow loom.
    window = "Hand looms are slower, and they don't weave as well as the Marlow loom."
    assert "marlow" not in negated_terms(window)
    assert not negation_conflict("Pell finds the Marlow loom better than hand looms.", window)
    # One clause denies "largest" and the next asserts "third-largest".
    window = "It was the third-largest guild in the county."
    assert not negation_conflict("No, it was not the largest guild; it was the third-largest guild in the county.",
                                 window)
    assert negation_conflict("It was not the largest guild in the county.", "It was the largest guild in the county.")

def test_only_on_the_windows_own_number_says_no_more() -> None:
    from rag.alignment import _unqualified

    assert "only" not in _unqualified("It is only about 0.001% cognition.", "It is like 0.001% cognition.")
    assert "just" not in _unqualified("It took just three days.", "It took three days.")
    # Another number, or no number at all, and the qualifier is a claim the window must make.
    assert "only" in _unqualified("It is only about 5% cognition.", "It is like 0.001% cognition.")
    assert "only" in _unqualified("Tesla only uses cameras.", "Tesla uses cameras.")
    assert "All" in _unqualified("All three pads were completed.", "Three pads were planned; two were completed.")


def test_an_either_or_answers_opener_is_not_a_claim() -> None:
    from rag.relations import core

    assert core("Neither: for him, the binding constraint is the canal.") == "for him, the binding constraint is the canal."
    assert core("Both, in his view.") == "in his view."
    assert core("Both mills used steam.") == "Both mills used steam."


def test_his_own_words_are_claimed_only_where_the_window_is_in_his_voice() -> None:
    about = "Caveat: Ostrander's optimism about steam engines may underweight the cost of coal."
    claim = "Ostrander himself cautions that his optimism about steam engines may underweight the cost of coal."
    assert unvoiced_emphasis(claim, about) == "himself"
    assert unvoiced_emphasis("He himself describes the survey as careful.", "His survey was careful.") == "himself"
    assert unvoiced_emphasis("Marlow herself sold the press.", "The press was sold by the council.") == "herself"
    # In the first person and never spoken of in the third: his own words.
    assert unvoiced_emphasis(claim, "> I think my optimism about steam engines may underweight the cost of coal.") == ""
    assert unvoiced_emphasis(claim, "Ostrander wrote the report himself.") == ""
    # No emphasis, nothing to bear out; a reflexive object is no emphasis.
    assert unvoiced_emphasis("Ostrander cautions that steam may be costly.", about) == ""
    assert unvoiced_emphasis("He declared himself the guild's master.", about) == ""


def test_a_name_put_where_the_window_has_another_is_displaced() -> None:
    quoted = 'According to Amelia Ostrander, "the valley alone lost almost half its mills in the flood of 1822."'
    assert displaced_name("According to Marlow, the valley alone lost almost half its mills in the flood of 1822.",
                          quoted)
    assert not displaced_name("According to Ostrander, the valley alone lost almost half its mills in the flood "
                              "of 1822.", quoted)
    window = ("The guild, in conjunction with printing firm Halloran Press, reprinted the lost volumes 1 and 4 of "
              "the Almanac for its 1906 centenary. The lost volumes of the Gazette were reprinted by printing firm "
              "Marlow & Sons.")
    assert displaced_name("The guild worked with printing firm Marlow & Sons to reprint the lost volumes 1 and 4 "
                          "of the Almanac for its 1906 centenary.", window)
    assert not displaced_name("The guild worked with printing firm Halloran Press to reprint the lost volumes 1 "
                              "and 4 of the Almanac for its 1906 centenary.", window)
    # A pronoun may mean the claim's name; an acronym is the name; a name the sentence
    # holds elsewhere in the claim is a combination, not a substitution.
    assert not displaced_name("Ostrander reprinted the lost volumes of the Almanac for the centenary.",
                              "He reprinted the lost volumes of the Almanac for the centenary, with Marlow.")
    # ... but only the name the claim opens with: "I" is not Marlow's rival.
    spoken = "> I think that Halloran has a money problem and I think Pell has a labour problem."
    assert not displaced_name("Ostrander says Halloran has a money problem and Pell has a labour problem.", spoken)
    assert displaced_name("Ostrander says Halloran has a money problem and Marlow has a labour problem.", spoken)
    assert not displaced_name("Rainfall in the valley during the Great Cold Winter was lower than today.",
                              "Records from Halloran Fen show rainfall in the valley during the GCW was lower "
                              "than for the present.")


def test_a_quoted_first_person_speaker_is_the_one_the_title_names() -> None:
    quote = "Looms:\n> I think the looms are the front end."
    assert speaking_voice("Ostrander thinks the looms are the front end.", [quote], ["Ostrander on Looms"]) == "Ostrander"
    assert speaking_voice("No, Ostrander says the looms are the front end.", [quote], ["Ostrander on Looms"]) \
        == "Ostrander"
    # The name must open the claim before a verb that reports; the title must hold it; the
    # passage must quote someone in the first person and speak of no one in the third.
    assert speaking_voice("Ostrander built the looms.", [quote], ["Ostrander on Looms"]) == ""
    assert speaking_voice("Ostrander thinks so.", [quote], ["On Looms"]) == ""
    assert speaking_voice("Ostrander thinks so.", ["I think the looms are the front end."], ["Ostrander on Looms"]) == ""
    assert speaking_voice("Ostrander thinks so.", [quote + " He said so."], ["Ostrander on Looms"]) == ""


def test_a_possessive_and_its_of_form_are_one_order() -> None:
    """"Brannock's loading docks" is "the loading docks of Brannock"; another owner is not."""
    window = "Halloran rebuilt the loading docks of Brannock after the flood."
    assert order_reversals("Halloran rebuilt Brannock's loading docks after the flood.", window) == 0.0
    assert order_reversals("Halloran rebuilt the loading docks of Brannock.", "Halloran rebuilt Brannock's loading docks.") \
        == 0.0
    # Only the window's own owner is read so: the two owners' docks still trade places.
    assert order_reversals("Brannock's docks flooded after Marlow's mill closed.",
                           "The docks of Marlow flooded after the mill of Brannock closed.") > 0.0


def test_a_clause_that_refers_by_pronoun_is_no_swap_of_names() -> None:
    """"so that agents can use them" may be about the claim's "APIs" though it does not name them."""
    window = "Build your websites and APIs with plain documentation so that future AI agents can use them as clients."
    assert not swapped_names("That way, future AI agents can use websites and APIs as clients.", window)
    spoken = "> I think that Halloran has a money problem and I think Pell has a labour problem."
    assert swapped_names("Ostrander says Halloran has a labour problem while Pell has a money problem.", spoken)


@pytest.mark.parametrize(("claim", "window", "restated"), [
    ("They gave a quarter of the money to charity.", "They gave 25 percent of all money to charity.", {"quarter"}),
    ("Half of the looms were idle.", "About 50% of the looms were idle.", {"half"}),
    ("The ride lasted 30 minutes.", "A flawless 30-minute ride around the block.", {"last"}),
    ("It happened during his 2011 to 2014 tenure.", "| 2011 - 2014 | Brannock Mills foreman |", {"tenur"}),
])
def test_a_share_or_a_span_in_other_words_is_restated(claim: str, window: str, restated: set[str]) -> None:
    from rag.alignment import restated_numbers

    assert restated <= restated_numbers(claim, window)


@pytest.mark.parametrize(("claim", "window"), [
    ("They gave a quarter of the money to charity.", "They gave 50 percent of all money to charity."),
    ("The ride lasted 40 minutes.", "A flawless 30-minute ride around the block."),
    ("It happened during his 2011 to 2015 tenure.", "| 2011 - 2014 | Brannock Mills foreman |"),
])
def test_another_share_or_span_is_not_restated(claim: str, window: str) -> None:
    from rag.alignment import restated_numbers

    assert not {"quarter", "last", "tenur"} & restated_numbers(claim, window)


def test_a_table_row_is_read_with_the_header_that_names_its_columns() -> None:
    from rag.alignment import table_headers, table_rows

    table = ("| Mill | Foreman | Verified Outcome |\n| Brannock | Halloran | Closed in 2014 |\n"
             "| Marlow | Pell | Rebuilt after the flood |")
    rows = table_rows(table)
    headers = table_headers(rows)
    assert headers[rows[1]] == headers[rows[2]] == rows[0]
    # A chunk that starts inside a table has a row of data first, not a header.
    assert table_headers(rows[1:]) == {}


def test_a_party_named_as_doing_what_another_did_is_displaced() -> None:
    """The same verb right after a name on both sides, and the claim's party is in the window
    in another role ("memos to Marlow")."""
    window = ("Throughout 1860, Halloran campaigned for the steam looms. Bypassing the board, he sent a series "
              "of memos to Mill Director Edwin Marlow.")
    assert displaced_agent("Mill Director Edwin Marlow campaigned throughout 1860 for the steam looms.", window)
    assert not displaced_agent("Halloran campaigned throughout 1860 for the steam looms.", window)
    sent = "On May 2, Pell sent a letter to Foreman Ostrander, asking Ostrander to count the looms."
    assert displaced_agent("On May 2, Foreman Ostrander sent Pell a letter asking him to count the looms.", sent)
    # A name inside a phrase is no agent; a party the window never names is left to the
    # missing-word check; "he" may be anyone.
    assert not displaced_agent("Weavers in places like the Marlow Valley continue to leave.",
                               "Weavers continue to leave, while others, like the Pell continue to stay.")
    assert not displaced_agent("Ostrander found the looms impressive.", "Brannock found the looms impressive.")
    assert not displaced_agent("Ostrander campaigned for the looms.", "Ostrander spoke. He campaigned for the looms.")
    # A one-word party may be an organisation credited with its people's acts.
    assert not displaced_agent("The profile says that Brannock bet the mill on steam.",
                               "Halloran ran the looms at Brannock. Halloran bet the mill on steam.")
