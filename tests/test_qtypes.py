"""What a question asks for, whether a text gives it, and how passages read for quoting."""

from __future__ import annotations

import pytest

from rag.extract import display_text, is_quotable, question_parts
from rag.policy import _neighbours, unfilled_slot
from rag.qtypes import answer_type, asked_unit, exact_slot, fills_slot, has_answer_type
from rag.reader import accept_span


@pytest.mark.parametrize(
    ("question", "slot"),
    [
        ("In which month of 2024 did Karpathy launch Eureka Labs?", "month"),
        ("In what year did Karpathy ride in the Waymo demo?", "year"),
        ("How many GitHub stars does nanoGPT have?", "count"),
        ("How many engineers were on Tesla's Autopilot team?", "count"),
        # Too general to pin a count to: "seven turnovers" answers "how many times".
        ("How many times has Karpathy left OpenAI?", None),
        ("How many people live in Warsaw?", None),
        ("When did Karpathy join Tesla?", None),  # "after his PhD" may answer it
        ("Who supervised Karpathy's doctoral work?", None),
        # A sum of money: asked with "how much" and a money word, or "what was the salary".
        ("What was Karpathy's annual salary as Director of AI at Tesla?", "amount"),
        ("How much did it cost to build Levi's Stadium?", "amount"),
        ("How much venture funding has Eureka Labs raised?", "amount"),
        ("How much did advertising revenue increase between 1953 and 1958?", None),  # a change: "500%"
        ("How much of Poland's national income does Warsaw produce?", None),
        ("What controls wages in a purely capitalist mode of production?", None),
        ("How much data does nanoGPT need?", None),
    ],
)
def test_exact_slots(question: str, slot: str | None) -> None:
    assert exact_slot(question) == slot


def test_the_counted_thing_is_read_from_the_question() -> None:
    assert asked_unit("How many GitHub stars does nanoGPT have?") == {"github", "star"}
    assert asked_unit("How many engineers were on the team?") == {"engin"}
    assert asked_unit("What does he count?") == set()


@pytest.mark.parametrize(
    ("question", "text", "filled"),
    [
        # The year the question already gives is no answer to "which month".
        ("In which month of 2024 did Karpathy launch Eureka Labs?", "He departed to launch Eureka Labs in 2024.", False),
        ("In which month of 2024 did Karpathy launch Eureka Labs?", "Eureka Labs launched in July 2024.", True),
        ("In what year did he ride in the demo?", "He rode in a Waymo demo in 2014.", True),
        ("In what year was Roger II made king?", "Roger II was crowned king in 1130.", True),
        ("In what year was the highway system created?", "It was created in the 1950s.", True),
        ("In what year did he ride in the demo?", "The demo felt basically perfect.", False),
        # A count of something else does not answer the count asked for.
        ("How many GitHub stars does nanoGPT have?",
         "GitHub stars on personal projects exceed counts. YouTube videos garner millions of views.", False),
        ("How many GitHub stars does nanoGPT have?", "nanoGPT has over 30,000 stars on GitHub.", True),
        ("How many GitHub stars does nanoGPT have?", "| Education / nanoGPT | Github Star Ranking: Top 0.1% |", False),
        ("How many parameters does GPT-4 have?", "He contributed to GPT-4 in 2023.", False),
        ("How many engineers were on the team?", "The team grew to 300 engineers.", True),
        ("How many engineers were on the team?", "By then the engineering team numbered 300.", True),
        ("How many siblings did he have?", "He was born in 1986.", False),
        # A phrase, nickname or metaphor asked for is a quoted or named thing, as a term is.
        ("What colorful phrase does Karpathy use for the transformer?",
         "This work predated the transformer revolution.", False),
        ("What colorful phrase does Karpathy use for the transformer?",
         'He calls the transformer a "beautiful blob of tissue".', True),
        ("What nickname did the press give the loom?", "The press called it the Iron Weaver.", True),
        # A sum of money is not any large number.
        ("What was his salary at Tesla?", "These machines trained networks with billions of parameters.", False),
        ("What was his salary at Tesla?", "He was paid $2,000 a month.", True),
        ("How much does it cost to attend a meeting?", "Entry to the meetings is free.", True),
        ("How much did the Italian government pay?", "He could claim 6 million Lira in damages.", True),
    ],
)
def test_fills_slot(question: str, text: str, filled: bool) -> None:
    assert fills_slot(text, answer_type(question), question) is filled


def test_a_capitalised_first_word_is_not_a_name() -> None:
    question = "Who co-founded Eureka Labs with Karpathy?"
    assert not has_answer_type("Consumer hardware efficiency became a priority. Education called him back.",
                               "person", question)
    assert has_answer_type("Musk recruited him in 2017.", "person", "Who recruited Karpathy to Tesla?")
    assert has_answer_type("Under Fei-Fei Li he studied vision.", "person", "Who supervised him?")
    # The question's own person, by full name, and a name with a number are no answer...
    assert not has_answer_type("Andrej Karpathy contributed to GPT-4.", "person", "Who hired Karpathy at Tesla?")
    assert not has_answer_type("Andrej Karpathy wrote it.", "person", "Who supervised Karpathy's doctoral work?")
    assert not has_answer_type("Tesla's Autopilot shipped.", "person", "Who took over as Tesla's head of AI?")
    assert not has_answer_type("He rode with engineers from Tesla.", "person", "Who took over as Tesla's head of AI?")
    # No name is an organisation because of the home corpus: another corpus has its own Tesla.
    assert has_answer_type("The induction motor was invented by Nikola Tesla.", "person",
                           "Who invented the induction motor?")
    # ...unless a relative is asked for, who may share the surname.
    assert has_answer_type("His father, Thomas Lincoln, was a farmer.", "person", "Who was Lincoln's father?")
    # A heading flattened into the next line is not one name ("Matters This").
    assert not has_answer_type("Why This Matters\nthe model is simple.", "name", "Which model is it?")


def test_a_span_that_is_one_common_capitalised_word_is_still_a_name() -> None:
    # The span stands alone, so its first word is not a sentence-initial word of prose.
    assert accept_span("English", "English is the hottest new programming language.",
                       "In what language are Software 3.0 programs written?") == "English"



def test_a_capitalised_function_word_inside_a_sentence_belongs_to_the_name() -> None:
    from rag.reader import RuleReader

    evidence = "Andrej Karpathy describes this arc in No Priors Ep. 80 | With Andrej Karpathy from OpenAI."
    # Not "Priors Ep": the "No" is the podcast's name, not a function word opening a sentence.
    assert RuleReader().span("What is the name of the show where Karpathy describes the arc?", evidence) == "No Priors Ep"
    # After the title separator "|" a new sentence starts: "With" is not part of a name.
    assert RuleReader().span("Who is quoted?", "Quotes | With Fei-Fei Li on stage.") == "Fei-Fei Li"
    # The question's "the" does not make "The Verge" a name the question already gives.
    assert has_answer_type("He told The Verge so.", "name", "Which outlet did he tell the story to?")
    assert not has_answer_type("He told the story.", "name", "Which outlet did he tell the story to?")

def test_unfilled_slot_reasons() -> None:
    month = "In which month of 2024 did Karpathy launch Eureka Labs?"
    assert unfilled_slot(month, ["He departed to launch Eureka Labs in 2024."]) == "the passages do not say which month"
    assert unfilled_slot(month, ["nothing here", "Eureka Labs opened in July 2024."]) is None
    assert unfilled_slot("What is Eureka Labs?", ["anything"]) is None
    salary = "What was Karpathy's annual salary as Director of AI at Tesla?"
    assert unfilled_slot(salary, ["The former Director of AI at Tesla, with billions of parameters."]) \
        == "the passages do not give that amount"
    assert unfilled_slot(salary, ["As director he earned $400,000 a year."]) is None


def test_display_text_keeps_headings_apart_and_joins_wrapped_prose() -> None:
    raw = ("Eating Through the Stack\n\nKarpathy describes Tesla's neural net replacing C++ code.\n"
           "First, image-level detection. Then multi-frame\nprediction.\n\n"
           "Useful subjects for a post-AGI world:\n> I would say math, physics, CS kind of disciplines.\n"
           "Why This Matters\nThe model is simple.[10]")
    shown = display_text(raw, keep_lines=True)
    assert shown.split("\n\n") == [
        "Eating Through the Stack",
        "Karpathy describes Tesla's neural net replacing C++ code. First, image-level detection. "
        "Then multi-frame prediction.",
        # A lead-in ending in ":" stays with what it introduces; a heading does not.
        "Useful subjects for a post-AGI world: > I would say math, physics, CS kind of disciplines.\n"
        "Why This Matters\nThe model is simple.",
    ]
    assert display_text(raw) == " ".join(display_text(raw, keep_lines=True).split())
    # A heading in sentence case, between two finished sentences, is kept apart too; a
    # wrapped line that the text runs on from is not.
    numbered = ("It offers a more nuanced view.\n1 Data quality trumps model size\nKarpathy makes a compelling "
                "case.\nThe next wave of\nimprovements will come from data.")
    assert display_text(numbered, keep_lines=True).split("\n") == [
        "It offers a more nuanced view.", "1 Data quality trumps model size",
        "Karpathy makes a compelling case. The next wave of improvements will come from data."]
    wrapped = "He studied at Stanford.\nHis advisor there was\nFei-Fei Li, who ran the lab."
    assert display_text(wrapped, keep_lines=True) == "He studied at Stanford. His advisor there was Fei-Fei Li, who ran the lab."


def test_a_heading_is_quoted_with_its_sentence_only_when_it_says_what_is_asked() -> None:
    import numpy as np

    from rag.extract import best_extracts
    from rag.text import content_terms

    sentence = "The conversation turns to AI agents and their potential to automate complex workflows."

    class Scorer:  # relevance by a fixed table; the question asks about "the next frontier"
        question_terms = set(content_terms("What is the next frontier?"))

        def score(self, window: str, vector=None) -> float:  # noqa: ANN001
            return 0.9 if "frontier" in window else 0.5

        def echo(self, window: str) -> float:
            return 0.0

        def coverage(self, terms: set[str]) -> float:
            return len(terms & self.question_terms) / len(self.question_terms)

    def windows(heading: str):  # noqa: ANN202
        def split(passage: str):  # noqa: ANN202
            texts = [heading, sentence, f"{heading}\n{sentence}"]  # two sentences, then their pair
            return texts, np.zeros((3, 4))
        return split

    asked = best_extracts("What is the next frontier?", ["p"], windows("3 Agents are the next frontier"), Scorer())
    assert asked[0].window == f"3 Agents are the next frontier\n{sentence}"
    other = best_extracts("What is the next frontier?", ["p"], windows("Why This Matters"), Scorer())
    assert other[0].window == sentence
    # One asked word is not enough: "Why This Matters" for "Why does the next frontier matter?".
    once = best_extracts("Why does the next frontier matter?", ["p"], windows("Why This Matters"), Scorer())
    assert once[0].window == sentence


def test_a_whole_table_row_is_quoted_when_it_answers() -> None:
    from rag.alignment import table_rows, windows
    from rag.embeddings import FakeEmbedder
    from rag.extract import Relevance, best_extracts

    # A table flattened one cell per line, as the career profile is: its sentence windows
    # are unquotable fragments, but the row read whole answers the question.
    passage = ("He led the vision team at Tesla for five years.\n| 2016 - 2017 |\nOpenAI Research Scientist |\n"
               "Generative Models |\n| 2017 - 2022 |\nTesla Sr. Director of AI |\nDeployed FSD Beta to 400k+ Users |")
    embedder = FakeEmbedder()
    question = "How many users was the FSD Beta deployed to at Tesla?"

    def embedded(texts: list[str]):  # noqa: ANN202
        return texts, embedder.embed_batch(texts)

    best = best_extracts(question, [passage], lambda p: embedded(windows(p, 2)), Relevance(question, embedder,
                         lambda t: 1.0), rows=lambda p: embedded(table_rows(p)))
    assert best[0].window == "| 2017 - 2022 | Tesla Sr. Director of AI | Deployed FSD Beta to 400k+ Users |"
    assert best[0].text == "2017 - 2022 | Tesla Sr. Director of AI | Deployed FSD Beta to 400k+ Users"


def test_table_rows_are_not_quotable_but_a_separator_is_fine() -> None:
    assert not is_quotable("| Sensor Stripping | Removal of Radar/Lidar for vision only | NHTSA complaints |")
    assert not is_quotable("NHTSA investigation into 758 phantom braking complaints (2021-2022). |")
    assert is_quotable("Karpathy describes this arc in No Priors Ep. 80 | With Andrej Karpathy he rode "
                       "in a Waymo demo in 2014 that felt basically perfect.")


def test_the_next_sentence_of_the_paragraph_is_found() -> None:
    passage = ("He architected the HydraNet. This network processes video from eight cameras. "
               "It creates a vector space representation of the road.\n\nA new paragraph starts here.")
    before, after, continues = _neighbours(passage, "This network processes video from eight cameras.")
    assert before == "He architected the HydraNet."
    assert after == "It creates a vector space representation of the road." and continues
    _, after, continues = _neighbours(passage, "It creates a vector space representation of the road.")
    assert after == "A new paragraph starts here." and not continues


def test_the_models_fallback_reads_only_dates_and_amounts() -> None:
    from rag.reader import RuleReader

    evidence = "Consider the HydraNet architecture. It shipped in 2019 with 48 networks."
    assert RuleReader().span("Which architecture did Tesla use?", evidence) == "HydraNet"
    fallback = RuleReader(kinds=("date", "number", "person"), strict=True)
    assert fallback.span("Which architecture did Tesla use?", evidence) is None
    assert fallback.span("In what year did it ship?", evidence) == "2019"
    # Persons only as full personal names, never the question's own person.
    assert fallback.span("Who supervised Karpathy's doctoral work?",
                         "Stanford hosted his doctoral work. Under Fei-Fei Li, vision tasks demanded attention.") \
        == "Fei-Fei Li"
    assert fallback.span("Who brought Karpathy to Tesla?", "The Data Engine was the real secret.") is None
    assert fallback.span("Who took over after Karpathy left?", "Andrej Karpathy left in 2022.") is None


def test_a_leading_article_or_preposition_the_evidence_lacks_is_dropped() -> None:
    evidence = "Rivera played in Super Bowl XX with the Bears, before the German Peasants' War exhibit opened."
    assert accept_span("in the Super Bowl XX", evidence, "In what Super Bowl did Rivera play?") == "Super Bowl XX"
    assert accept_span("the Peasants' War", evidence, "What did Storch help instigate?") == "Peasants' War"
    assert accept_span('an "Iron Man suit"', 'tools that are like an Iron "Iron Man suit"', "Which analogy?") \
        == "Iron Man suit"
    # A reply that is a clause of its own is not trimmed into a fragment.
    assert accept_span("it was a metal bit", "The particle was a metal bit.", "What was the particle?") is None
    assert accept_span("the Bears team", evidence, "Which team?") is None
    # A preposition that carries meaning is never dropped: "after 2012" is not "before 2012".
    assert accept_span("after 2012", "It shipped before 2012.", "When did it ship?") is None


def test_a_span_is_whole_words_of_the_evidence() -> None:
    # A cut word is completed: "1970" of "the 1970s" is another answer.
    assert accept_span("1970", "By the 1970s, the Brotherhood had renounced violence.", "When did it renounce it?") \
        == "1970s"
    assert accept_span("constituency seat", "It is added to its constituency seats.", "What set is it added to?") \
        == "constituency seats"
    # A number that is part of a name, or of a longer number, counts nothing.
    evidence = "He contributed to the visual capabilities of GPT-4. He left again in early 2024."
    assert accept_span("4", evidence, "How many times has Karpathy left OpenAI?") is None
    assert accept_span("2", "It was authored between 1200 and 1245.", "How many customaries are there?") is None
    assert accept_span("2", "He left 2 times; GPT-2 shipped.", "How many times did he leave?") == "2"
    # The tail of a word is not that word: "AI" of "OpenAI" (which the question gives anyway).
    assert accept_span("AI", "Karpathy rejoined OpenAI during 2023.", "What did he work on at OpenAI?") is None
    # A whole word is found even after a cut occurrence ("P" of "Prime", then the class "P").
    assert accept_span("p", "Prime problems form the complexity class P.", "What class is it?") == "P"


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("Who founded OpenAI?", []),
        ("What is minbpe and why?", []),  # "why?" has nothing of its own: one question
        ("Who founded OpenAI and when?", []),
        ("Where did he study, and what did he major in?", ["Where did he study", "what did he major in?"]),
        ("He recommends math and CS. Which of these did he major in?", ["Which of these did he major in?"]),
        ("Tesla uses cameras. Does it use LiDAR at all, and if so, when?",
         ["Does it use LiDAR at all, and if so, when?"]),
        ("He led Autopilot. He left.", []),
    ],
)
def test_question_parts(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts
