//! The lab's quiz: two or three multiple-choice questions per step that check the step is
//! understood (what a stream id says, `>` against `0`, pending entries and XACK, XAUTOCLAIM,
//! groups against XREAD fan-out, lag, replay, idempotency), each with the explanation shown
//! once answered. The answers are the relay's: `GET /api/lab` never sends them.

use shared::api::{QuizAnswer, QuizQuestion, QuizScore};

/// One question: its choices, the index of the right one, and why it is right.
pub struct Question {
    pub id: &'static str,
    /// The lab step it belongs to.
    pub step: &'static str,
    pub question: &'static str,
    pub choices: &'static [&'static str],
    pub answer: usize,
    pub explanation: &'static str,
}

pub const QUESTIONS: &[Question] = &[
    Question {
        id: "setup_version",
        step: "setup",
        question: "Why does the lab want Redis 7 or later?",
        choices: &[
            "Streams only exist from Redis 7 on",
            "XAUTOCLAIM needs Redis 6.2, and a group's entries-read and lag need Redis 7.0",
            "Consumer groups need Redis 7",
            "Only Redis 7 keeps data on disk",
        ],
        answer: 1,
        explanation: "Streams and consumer groups came with Redis 5. XAUTOCLAIM, which hands a \
                      crashed consumer's idle entries to another in one call, came with 6.2; \
                      XINFO GROUPS reports entries-read and lag (how far a group is behind) \
                      from 7.0.",
    },
    Question {
        id: "setup_eviction",
        step: "setup",
        question: "Why must the Redis holding the event stream not evict keys (maxmemory-policy \
                   noeviction)?",
        choices: &[
            "Eviction only makes Redis slower",
            "Streams are never evicted anyway",
            "The stream is the system of record: an evicted stream silently loses every event, \
             and with them every state folded from them",
            "Evicted keys come back on the next read",
        ],
        answer: 2,
        explanation: "In event sourcing the log is the truth; the read models are derived from \
                      it. A cache may drop keys, an event store may not: with noeviction, Redis \
                      refuses writes at its memory limit (an error you can see and handle) \
                      instead of deleting the history.",
    },
    Question {
        id: "streams_id_meaning",
        step: "streams",
        question: "Redis gave an entry the id 1700000000000-3. What does it say?",
        choices: &[
            "It is the stream's 1,700,000,000,000th entry, with 3 fields",
            "It was added at Redis's clock time 1700000000000 ms, as the fourth entry of that \
             millisecond (the sequence counts from 0)",
            "It is a random unique number and its parts mean nothing",
            "It names the client (1700000000000) and its third connection",
        ],
        answer: 1,
        explanation: "An id is <milliseconds>-<sequence>: the time Redis added it and a counter \
                      for entries added in the same millisecond. So ids sort by time, and a \
                      range of time is an XRANGE of ids.",
    },
    Question {
        id: "streams_ids_grow",
        step: "streams",
        question: "The stream's last id is 10-0. You run XADD claims:events 5-1 type claim_paid \
                   claim_id c-1. What happens?",
        choices: &[
            "Redis refuses it: an entry's id must be greater than the stream's last id, so ids \
             only grow",
            "The entry is inserted in order, between the older ones",
            "It replaces whatever entry had the id 5-1",
            "Redis renumbers it 10-1",
        ],
        answer: 0,
        explanation: "A stream is append-only: every new id is greater than the last one ever \
                      given (even if that entry was deleted since), which is why a reader can \
                      resume from the last id it saw and never miss or repeat an entry. Redis \
                      answers ERR The ID specified in XADD is equal or smaller than the target \
                      stream top item.",
    },
    Question {
        id: "streams_append_only",
        step: "streams",
        question: "A claim was submitted with the wrong amount. How does an event-sourced \
                   system correct it?",
        choices: &[
            "XDEL the wrong entry and XADD a fixed one in its place",
            "Change the amount field of the entry in place",
            "Trim the stream back to before the mistake",
            "Append an event that corrects it: the log keeps both facts, and the claim's state \
             folds to the right amount",
        ],
        answer: 3,
        explanation: "Events are facts about the past and are never changed: a correction is a \
                      new event. The history then shows what was entered and when it was \
                      corrected, and every projection replaying the stream agrees.",
    },
    Question {
        id: "implementation_fold",
        step: "implementation",
        question: "Where does a claim's current state come from in an event-sourced design?",
        choices: &[
            "From folding the claim's events in order; any read model can be rebuilt by \
             replaying the stream from the start",
            "From the read model only; the events are a backup",
            "From the claim's last event alone",
            "From the consumer group that processed it",
        ],
        answer: 0,
        explanation: "State is events.fold(initial, apply). Read models (a hash per claim, a set \
                      per status) are projections: caches of that fold that can be thrown away \
                      and rebuilt by replaying the stream, e.g. after a bug in a projection is \
                      fixed.",
    },
    Question {
        id: "implementation_new_or_pending",
        step: "implementation",
        question: "XREADGROUP GROUP claims-processors c1 STREAMS claims:events > against the \
                   same command ending in 0: what is the difference?",
        choices: &[
            "None: both read the stream from the start",
            "> gives the newest entry, 0 the oldest",
            "> gives entries never delivered to the group yet (and makes them c1's pending \
             entries); 0 gives c1's own pending entries again, delivered but not acknowledged",
            "0 gives every entry of the stream, whatever the group has read",
        ],
        answer: 2,
        explanation: "> is the group's cursor: each entry goes to one consumer once. Any other \
                      id reads the consumer's pending entries list from that id: what it was \
                      given and has not acknowledged, which is how a restarted consumer \
                      finishes its work before asking for new entries. Expecting new entries \
                      from 0 is a common mistake.",
    },
    Question {
        id: "implementation_fan_out",
        step: "implementation",
        question: "The analytics service and the notifications service each need every claim \
                   event. What do you give them?",
        choices: &[
            "One consumer group with a consumer for each service",
            "A consumer group each (or plain XREAD each): every group gets every entry, while \
             the consumers within one group split its entries between them",
            "One XREADGROUP call with both consumer names",
            "A copy of the stream for each service",
        ],
        answer: 1,
        explanation: "A group shares out the work: within a group each entry goes to one \
                      consumer. Independent readers that each need everything are separate \
                      groups (fan-out), each with its own cursor and pending list; XREAD also \
                      fans out, but keeps no position or pending list for you.",
    },
    Question {
        id: "advanced_pending",
        step: "advanced",
        question: "Consumer c1 read an entry with XREADGROUP and crashed before XACK. What \
                   happens to the entry?",
        choices: &[
            "It is lost",
            "It goes to the next > read of the group by itself",
            "It moves to the dead-letter stream",
            "It stays in the group's pending entries list as c1's until it is acknowledged or \
             another consumer claims it (XCLAIM, XAUTOCLAIM)",
        ],
        answer: 3,
        explanation: "Delivery is at least once: an entry stays pending (XPENDING lists it, with \
                      its owner, idle time and deliveries) until XACK. Nothing redelivers it \
                      automatically; another consumer takes it over with XCLAIM or XAUTOCLAIM, \
                      or c1 reads its own pending entries with 0 when it comes back.",
    },
    Question {
        id: "advanced_autoclaim",
        step: "advanced",
        question: "What does XAUTOCLAIM claims:events claims-processors c2 60000 0 do?",
        choices: &[
            "Gives c2 the group's pending entries idle for 60 s or more (scanning from id 0), \
             counting one more delivery for each",
            "Deletes entries older than 60 s",
            "Reads 60000 new entries as c2",
            "Acknowledges everything pending for c2",
        ],
        answer: 0,
        explanation: "XAUTOCLAIM scans the pending list from the start id and transfers to the \
                      caller the entries idle at least min-idle-time ms, resetting their idle \
                      time and adding one to their delivery count, so an entry that keeps \
                      failing shows a growing count (and can be moved to a dead-letter stream). \
                      It answers a cursor to continue the scan from.",
    },
    Question {
        id: "advanced_trim",
        step: "advanced",
        question: "Why trim with XTRIM MINID at the oldest pending id rather than with a fixed \
                   MAXLEN?",
        choices: &[
            "MINID is faster",
            "MAXLEN can remove entries a consumer has been given but not yet acknowledged; \
             MINID at the oldest pending id keeps every entry still needed",
            "MAXLEN is deprecated",
            "MINID also acknowledges what it removes",
        ],
        answer: 1,
        explanation: "Trimming ignores consumer groups: a trimmed entry that is still pending \
                      stays in the pending list, but its data is gone, so a claim or a retry \
                      gets nothing to process. Trim behind the oldest pending entry of every \
                      group (and behind what projections still need to replay).",
    },
    Question {
        id: "validation_lag",
        step: "validation",
        question: "XINFO GROUPS shows claims-analytics with entries-read 40 and lag 2. What \
                   does it mean?",
        choices: &[
            "Two consumers of the group are behind",
            "Two entries are pending",
            "The stream has had 42 entries added and the group has been given 40 of them: 2 \
             are still to be delivered",
            "The group is 2 seconds behind",
        ],
        answer: 2,
        explanation: "lag = entries-added - entries-read: entries not yet delivered to the \
                      group, independent of acknowledgement (that is pending). When Redis cannot \
                      tell (e.g. after XGROUP SETID without ENTRIESREAD, or deletions in the \
                      way), lag is nil.",
    },
    Question {
        id: "validation_idempotent",
        step: "validation",
        question: "A notifier crashes after sending an email but before XACK, so the entry is \
                   delivered again. How does it avoid a second email?",
        choices: &[
            "Redis delivers each entry exactly once",
            "It reads with XREAD instead of XREADGROUP",
            "It acknowledges before sending",
            "Its handling is idempotent: it records the entry's id as handled and skips an id \
             it has handled already",
        ],
        answer: 3,
        explanation: "Consumer groups deliver at least once. Acknowledging first turns that into \
                      at most once (a crash loses the email). Exactly-once effects come from \
                      idempotent handling: remember handled ids (e.g. a set, trimmed behind the \
                      group's oldest pending entry) and skip repeats.",
    },
];

/// A step's questions for `GET /api/lab`, not yet answered.
pub fn of_step(step: &str) -> Vec<QuizQuestion> {
    QUESTIONS
        .iter()
        .filter(|q| q.step == step)
        .map(|q| QuizQuestion {
            id: q.id.to_owned(),
            question: q.question.to_owned(),
            choices: q.choices.iter().map(|c| (*c).to_owned()).collect(),
            answered: false,
            correct: false,
            choice: None,
            explanation: None,
        })
        .collect()
}

pub fn find(id: &str) -> Option<&'static Question> {
    QUESTIONS.iter().find(|q| q.id == id)
}

/// Why a choice cannot be an answer to a question.
#[derive(Debug, PartialEq, Eq)]
pub enum QuizError {
    NoQuestion(String),
    NoChoice { choice: i64, choices: usize },
}

/// Checks `choice` against question `id`; the choice as an index when it is one.
pub fn answer(id: &str, choice: i64) -> Result<(usize, QuizAnswer), QuizError> {
    let q = find(id).ok_or_else(|| QuizError::NoQuestion(id.to_owned()))?;
    let Some(choice) = usize::try_from(choice)
        .ok()
        .filter(|c| *c < q.choices.len())
    else {
        return Err(QuizError::NoChoice {
            choice,
            choices: q.choices.len(),
        });
    };
    Ok((
        choice,
        QuizAnswer {
            correct: choice == q.answer,
            explanation: q.explanation.to_owned(),
        },
    ))
}

/// The question as answered with `choice` (its last answer).
pub fn answered(question: &mut QuizQuestion, choice: usize) {
    let Some(q) = find(&question.id) else { return };
    question.answered = true;
    question.correct = choice == q.answer;
    question.choice = Some(choice);
    question.explanation = Some(q.explanation.to_owned());
}

/// How the quiz went, from the lab's questions as answered.
pub fn score<'a>(questions: impl Iterator<Item = &'a QuizQuestion>) -> QuizScore {
    let mut score = QuizScore::default();
    for q in questions {
        score.total += 1;
        score.answered += usize::from(q.answered);
        score.correct += usize::from(q.correct);
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_two_or_three_questions_each_with_a_right_answer_among_its_choices() {
        for (step, _) in super::super::steps() {
            let n = QUESTIONS.iter().filter(|q| q.step == step).count();
            assert!((2..=3).contains(&n), "{step} has {n} questions");
        }
        for q in QUESTIONS {
            assert!(q.answer < q.choices.len(), "{}", q.id);
            assert!(QUESTIONS.iter().filter(|o| o.id == q.id).count() == 1);
        }
        let answers: std::collections::BTreeSet<usize> =
            QUESTIONS.iter().map(|q| q.answer).collect();
        assert!(
            answers.len() >= 3,
            "the right answer is not always in one place"
        );
    }

    #[test]
    fn a_choice_out_of_range_or_an_unknown_question_is_refused() {
        assert_eq!(
            answer("setup_version", 4),
            Err(QuizError::NoChoice {
                choice: 4,
                choices: 4
            })
        );
        assert!(matches!(
            answer("setup_version", -1),
            Err(QuizError::NoChoice { choice: -1, .. })
        ));
        assert!(matches!(answer("nope", 0), Err(QuizError::NoQuestion(_))));
        assert!(answer("setup_version", 1).unwrap().1.correct);
        assert!(!answer("setup_version", 0).unwrap().1.correct);
    }
}
