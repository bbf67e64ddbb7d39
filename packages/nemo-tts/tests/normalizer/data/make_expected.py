"""Write ``expected_nemo_text_processing.json``: what nemo_text_processing's English normalizer says.

This script runs NeMo's ``nemo_text_processing`` (1.2.0, with pynini), installed beside NeMo 1.23 in a
separate environment; the tests only read the JSON it writes. Run it from a scratch folder:

    /tmp/nemo-ref/bin/python packages/nemo-tts/tests/normalizer/data/make_expected.py

For each input of ``CASES`` it records the output of ``Normalizer(input_case="cased", lang="en").normalize(text)``
with FastPitch's call arguments (``punct_pre_process=True, punct_post_process=True``) and with the defaults;
for each of ``LOWER_CASED_CASES``, that of ``Normalizer(input_case="lower_cased", lang="en")`` with FastPitch's.
``generated_sentences()`` adds sentences drawn from templates with a fixed seed (kind ``"generated"``).
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from pathlib import Path

CASES: dict[str, list[str]] = {
    "cardinal": [
        "0",
        "7",
        "13",
        "21",
        "100",
        "101",
        "110",
        "999",
        "1,000",
        "1,001",
        "1,010",
        "1,101",
        "12,345",
        "100,000",
        "101,000",
        "1,000,000",
        "1,234,567",
        "2,000,000,000",
        "-5",
        "-1,234",
        "12345",
        "0123",
        "007",
        "I have 12345 apples.",
        "There are 100000 people.",
        "1 million",
        "5, 6, and 7",
    ],
    "decimal": [
        "3.14",
        "0.5",
        ".5",
        "-2.75",
        "10.05",
        "1.0",
        "100.001",
        "1234.5",
        "1,234.5",
        "2.5 billion",
        "about 1.5 million people",
        "He scored 2.5 points.",
        "Version 2.0 is out.",
    ],
    "ordinal": [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "103rd",
        "111th",
        "1000th",
        "1234th",
        "in the 20th century",
        "on the 3rd of May",
        "The 22nd floor and the 1st one.",
    ],
    "money": [
        "$5",
        "$5.50",
        "$0.99",
        "$1",
        "$1.01",
        "$0.01",
        "$100",
        "$1,000",
        "$1234",
        "$5.5",
        "$5.00",
        "$1.2 million",
        "$5 billion",
        "$3.5 trillion",
        "$2 million",
        "£10",
        "£2.50",
        "€20",
        "€3.75",
        "¥100",
        "It costs $12,345.67 today.",
        "He paid $20, then left.",
        "$5 and 50 cents",
        "I paid £5 and €3.",
    ],
    "percent": ["5%", "3.5%", "-2%", "100 %", "-5.5%", "Prices rose 3.5% in 2023."],
    "time": [
        "3:30 pm",
        "3:30 PM",
        "3:30pm",
        "10:05",
        "10:00",
        "12 am",
        "12 pm",
        "7 a.m.",
        "7:00 a.m.",
        "11:59 p.m.",
        "0:15",
        "23:45",
        "12:00 pm",
        "9:05 am",
        "9.30 pm",
        "4 PM",
        "It's 10:30!",
        "At 3:30 pm.",
        "10 a.m. to 5 p.m.",
        "We left at 5 p.m. Then we ate.",
        "at 9:00",
    ],
    "date": [
        "January 5, 2024",
        "Jan. 5",
        "Jan 5",
        "Jan 5, 2024",
        "Sept. 5",
        "Feb 29",
        "December 25th",
        "July 4th",
        "May 2024",
        "September 2024",
        "5/1/2024",
        "12/25/1999",
        "2/29/2020",
        "5/1/24",
        "31/12/2020",
        "2024-01-05",
        "5.5.2020",
        "1st January 2024",
        "5 January 2024",
        "5 Jan 2024",
        "5 January",
        "On May 3rd, 2021, we left.",
        "We met on January 5, 2024 in Paris.",
        "Wed, Jan 3",
    ],
    "year": [
        "1999",
        "2024",
        "2000",
        "2001",
        "2010",
        "1905",
        "1800",
        "1100",
        "1900",
        "1910",
        "2100",
        "1000",
        "1010",
        "1234",
        "in 1999",
        "in 2024 we",
        "about 1500 people",
        "about 5000 people",
        "2099",
        "2150",
        "2500",
        "2999",
        "3000",
        "3456",
        "4567",
        "9999",
        "1099",
        "3001",
        "5005",
    ],
    "decade": ["the 1990s", "the '90s", "the 80s", "1980s", "the 1900s", "the 2000s"],
    "fraction": ["1/2", "1/4", "3/4", "2/3", "1/3", "3 1/2", "on 5/1", "50/50", "Her birthday is 11/09."],
    "measure": [
        "5 km",
        "1 km",
        "3 kg",
        "1 kg",
        "10 cm",
        "5 lb",
        "1 lb",
        "60 mph",
        "5 ft",
        "1 ft",
        "5 mi",
        "5 min",
        "5 sec",
        "20 °C",
        "20°C",
        "20 °F",
        "It was 1 °C.",
        "It is 5 km away and weighs 3 kg.",
        "50° north",
        "1° off",
        "90° angle",
    ],
    "abbreviation": [
        "Mr. Smith",
        "Mrs. Smith",
        "Ms. Lee",
        "Dr. Jones",
        "St. Louis",
        "Main St.",
        "Smith vs. Jones",
        "apples, pears, etc.",
        "e.g. this",
        "i.e. that",
        "No. 5",
        "Lt. Dan",
        "Gen. Lee",
        "Capt. Kirk",
        "John Smith Jr.",
        "Sgt. Pepper",
        "Mt. Everest",
        "Rev. Green",
        "Gov. Brown",
        "World War I",
        "World War II",
        "U.S.",
        "U.S.A.",
        "a & b",
        "Mr. Smith's car",
        "Mr. Smith and Mrs. Smith met Dr. Jones on St. Patrick's day.",
    ],
    "telephone": [
        "Call (555) 123-4567.",
        "Call 1-800-555-1234.",
        "Call 1-888-555-1234.",
        "Call 888-555-1234.",
        "Call 555-123-4567.",
        "Call (800) 123-4567.",
        "Call 1 (555) 123-4567.",
    ],
    "symbol": ["item #5", "#hashtag", "#1 hit", "a + b", "x + y", "5 + 3", "@home", "A & B"],
    "electronic": [
        "Email me at john@example.com",
        "Write to jane.doe@mail.example.org today.",
        "Mail info@my-site.net now.",
        "Visit example.com today.",
        "Go to www.example.com.",
    ],
    "out_of_range": ["Jan 45", "9:75", "25:30"],
    "serial": [
        "A4 paper",
        "MP3",
        "5x",
        "COVID-19",
        "x-5",
        "The score was 3-2.",
        "B1999",
        "A123",
        "X12345",
        "123A",
        "R2D2",
        "F16 jet",
        "She lives at 221B Baker St.",
    ],
    "unchanged": [
        "Hello world.",
        "This is plain text, nothing to do!",
        '"Quoted" text (parens) [brackets]',
        "It's a test - with dashes -- and more",
        "Dr Smith",
        "Mr Smith",
        "TV",
        "NASA",
    ],
    "mixed": [
        "  two  spaces   here  ",
        'He said "$5" loudly.',
        "(5)",
        "[25]",
        "Is it 5?",
        "Page 3, line 4.",
        "He is No. 1.",
        "5th Ave. and 22nd St.",
        "The temperature is -5.",
        "I'm 25 years old.",
        "Dr. Smith paid $5.50 on Jan. 5, 2024 at 3:30 pm, 20% more than in 1999.",
        "On 12/25/2023 at 10:05 am, Mrs. Lee ran 5 km in 22 min and came 3rd.",
    ],
    "sentences": [
        "The meeting is on March 3, 2022 at 4:15 pm in room 12.",
        "She was born on 7/4/1976 and moved in 1998.",
        "We sold 1,500 units for $3.25 each, a 12% drop.",
        "Call me at 8 a.m. on Tuesday.",
        "He finished 2nd, she finished 41st.",
        "The budget is $2.5 billion, up from $900 million.",
        "It weighs 72 kg and is 180 cm tall.",
        "Temperatures hit 35 °C on Aug. 12.",
        "In the 1960s, Dr. King spoke.",
        "The vote was 5-4 in 2019.",
        "Gen. Grant and Capt. Smith, etc.",
        "Only 0.25% of 10,000 people agreed.",
        "It happened at 11:45 p.m. on Dec. 31, 1999.",
        "The 3rd quarter of 2023 was good.",
        "I need 3 1/2 cups and 1/4 teaspoon.",
        "Flight 370 left at 6:30.",
        "Mix 2 eggs with 250 g of flour.",
        "The year 1066 and 476 AD.",
        "We drove 65 mph for 300 mi.",
        "Pay £15.99 or €12.",
        "Mr. and Mrs. Jones live on Oak St. in St. Paul.",
        "He is 6 ft tall.",
        "Nov 11 1918 was the armistice.",
        "Room 101.",
        "From 9 to 5.",
        "It was -10 °F outside.",
        "3.5 million people, i.e. many.",
        "It's 50% off, e.g. $10 becomes $5.",
        "His score was 99.9.",
        "The 1st, 2nd and 3rd places.",
        "On 2023-12-25 we celebrated.",
        "I have 2 dogs, 3 cats and 10 fish.",
        "In 2008 and 2009 the economy shrank.",
        "The company reported revenue of $4.2 billion for Q3 2023.",
        "Shares fell 3.7% to $145.20 on Monday.",
        "About 2,500 people attended the Sept. 14 rally.",
        "The flight departs at 7:45 a.m. and arrives at 11:20 a.m.",
        "He ran the 100 m in 9.58 seconds.",
        "Call 911 now.",
        "The recipe needs 2 cups of sugar and 3/4 cup of milk.",
        "On July 20, 1969, Apollo 11 landed.",
        "She lives at 221B Baker St.",
        "Chapter 7 starts on page 134.",
        "The U.S. economy grew 2.1% in 2022.",
        "The temperature dropped to -12°C overnight.",
        "He was the 44th president.",
        "Mar. 15 is the deadline.",
        "Tickets cost €25 or £20.",
        "Dr. Brown, Prof. Green and Mr. White.",
        "It takes 15-20 minutes.",
        "The ratio is 3:1.",
        "He bought 12 eggs for $3.",
        "It's 5 o'clock.",
        "From 1999 to 2005.",
        "The year 2000 problem.",
        "My number is 42.",
        "We need 1,000,000 dollars.",
        "Born Feb. 2, 1990.",
        "Her birthday is 11/09.",
        "It was 98.6 °F.",
        "Population: 8,000,000,000.",
        "Meeting at 14:00 tomorrow.",
        "Lose 10 lbs in 30 days.",
        "Speed limit 55 mph.",
        "A 6-month plan.",
        "He won 3 gold medals in 2016, 2020 and 2024.",
    ],
}

LOWER_CASED_CASES = [
    "mr. smith paid $5 on jan. 5, 2024.",
    "dr. jones at 3:30 pm",
    "on may 5th",
    "u.s. and world war ii",
    "smith vs. jones",
]


_MONTHS = [
    *"January February March April May June July August September October November December".split(),
    *"Jan. Feb. Aug. Sept. Oct. Nov. Dec. Jan Dec".split(),
]


def _number(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.3:
        return str(rng.randint(0, 99))
    if draw < 0.5:
        return str(rng.randint(100, 999))
    if draw < 0.7:
        return f"{rng.randint(1000, 999999):,}"
    if draw < 0.85:
        return str(rng.randint(1000, 9999))
    return f"{rng.randint(0, 999)}.{rng.randint(0, 99)}"


def _ordinal_token(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def generated_sentences(count: int = 300, seed: int = 7) -> list[str]:
    """``count`` distinct sentences mixing numbers, money, dates, times, units and abbreviations."""
    rng = random.Random(seed)
    currency = ["$", "£", "€"]
    templates = [
        lambda: f"I saw {_number(rng)} birds.",
        lambda: f"It costs {rng.choice(currency)}{_number(rng)}.",
        lambda: f"It costs {rng.choice(currency)}{rng.randint(1, 999)}.{rng.randint(0, 99):02d} now.",
        lambda: f"Up {_number(rng)}% today.",
        lambda: f"We met on {rng.choice(_MONTHS)} {rng.randint(1, 31)}, {rng.randint(1900, 2030)}.",
        lambda: f"Due {rng.choice(_MONTHS)} {rng.randint(1, 31)}.",
        lambda: f"On {rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1950, 2030)} it rained.",
        lambda: (
            f"At {rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(['am', 'pm', 'a.m.', 'PM'])} we ate."
        ),
        lambda: f"At {rng.randint(0, 23)}:{rng.randint(0, 59):02d} we ate.",
        lambda: f"The {rng.randint(1, 200)}th time.",
        lambda: f"The {_ordinal_token(rng.randint(1, 300))} time.",
        lambda: f"In {rng.randint(1000, 2999)}, things changed.",
        lambda: (
            f"It is {_number(rng)} {rng.choice(['km', 'kg', 'cm', 'mi', 'ft', 'lb', 'mph', 'min'])} long."
        ),
        lambda: f"Temperature {rng.randint(-30, 40)} °C.",
        lambda: f"The {rng.randint(1, 9) * 10 + 1900}s were fun.",
        lambda: (
            f"{rng.choice(['Mr.', 'Mrs.', 'Dr.', 'Ms.', 'Gov.', 'Capt.'])} Smith has {_number(rng)} cats."
        ),
        lambda: (
            f"About {rng.randint(1, 999)}.{rng.randint(1, 9)} {rng.choice(['million', 'billion'])} people."
        ),
        lambda: (
            f"{rng.choice(currency)}{rng.randint(1, 99)}.{rng.randint(1, 9)} {rng.choice(['million', 'billion'])}."
        ),
        lambda: f"Mix {rng.randint(1, 5)} {rng.randint(1, 3)}/{rng.choice([2, 3, 4, 8])} cups.",
        lambda: f"Score: {rng.randint(0, 9)}-{rng.randint(0, 9)}.",
        lambda: f"Call {rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)} now.",
        lambda: f"Flight {rng.choice(['A', 'UA', 'DL'])}{rng.randint(1, 999)} is late.",
        lambda: f"{rng.randint(1, 28)} {rng.choice(_MONTHS)} {rng.randint(1900, 2030)}",
        lambda: f"from {rng.randint(1, 12)} am to {rng.randint(1, 12)} pm",
        lambda: f"-{_number(rng)} and {_number(rng)}",
    ]
    sentences: dict[str, None] = {}
    while len(sentences) < count:
        sentences[rng.choice(templates)()] = None
    return list(sentences)


def _fastpitch_call(normalizer, text: str) -> str:
    return normalizer.normalize(text, punct_pre_process=True, punct_post_process=True)


def main() -> None:
    from nemo_text_processing.text_normalization.normalize import Normalizer

    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as cache_dir:
        cased = Normalizer(input_case="cased", lang="en", cache_dir=cache_dir)
        lower_cased = Normalizer(input_case="lower_cased", lang="en", cache_dir=cache_dir)
        expected = {
            "cased": {
                kind: [
                    {
                        "text": text,
                        "fastpitch_call": _fastpitch_call(cased, text),
                        "default_call": cased.normalize(text),
                    }
                    for text in texts
                ]
                for kind, texts in {**CASES, "generated": generated_sentences()}.items()
            },
            "lower_cased": [
                {"text": text, "fastpitch_call": _fastpitch_call(lower_cased, text)}
                for text in LOWER_CASED_CASES
            ],
        }
    out = Path(__file__).with_name("expected_nemo_text_processing.json")
    out.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
