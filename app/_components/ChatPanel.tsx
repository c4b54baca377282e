"use client";

import type { UIMessage } from "ai";
import { type FormEvent, useId, useState } from "react";
import { ChatAlert, ChatStatus } from "./ChatOutcome";
import { holdReceipt, type Receipt, receiptOfCharge } from "./charge";
import type { HistoryEntry } from "./types";
import type { ChatEnding } from "./chatEnding";
import { messageText, useMeteredChat } from "./useMeteredChat";

interface Props {
  /** The dashboard's live history: a stopped answer's charge is read there. */
  history: readonly HistoryEntry[];
  /** Poll the stats now: the gate has reserved, or the answer has ended. */
  onActivity: () => void;
}

/**
 * A streamed, usage-priced chat: `POST /api/chat/stream` holds the most an answer may cost,
 * streams it word by word, and settles what was written when it ends or is stopped.
 */
export function ChatPanel({ history, onActivity }: Props) {
  const headingId = useId();
  const [draft, setDraft] = useState("Write 60 words");
  const chat = useMeteredChat(onActivity);
  const receipt = receiptOf(chat.ending, history);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const text = draft.trim();
    if (text === "" || chat.running) return;
    chat.send(text);
    setDraft("");
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>Chat</h2>
        <p className="muted">Priced by the words it writes</p>
      </div>
      <p className="muted">
        Streams an answer from the demo model, which writes as many words as the first number in your message. Tokens for the
        longest answer are reserved when it starts; when it ends, or you stop it, you pay for what was written and the rest
        comes back.
      </p>
      <Transcript messages={chat.messages} running={chat.running} />
      <form className="inline-form" onSubmit={submit}>
        <div className="field grow">
          <label htmlFor={`${headingId}-message`}>Message</label>
          <input id={`${headingId}-message`} value={draft} maxLength={2000} onChange={(e) => setDraft(e.target.value)} autoComplete="off" />
        </div>
        {/* Both buttons stay in the page: one replacing the other would drop the focus. */}
        <button type="submit" className="button primary" disabled={chat.running}>
          Send
        </button>
        <button type="button" className="button secondary" disabled={!chat.running} onClick={chat.stop}>
          Stop
        </button>
      </form>
      <div className="result-region chat-result">
        <ChatStatus running={chat.running} reserved={chat.reserved} ending={chat.ending} receipt={receipt} />
        <ChatAlert ending={chat.ending} />
      </div>
    </section>
  );
}

function receiptOf(ending: ChatEnding | null, history: readonly HistoryEntry[]): Receipt | null {
  if (ending?.kind !== "finished" && ending?.kind !== "stopped") return null;
  if (ending.charge !== null) return receiptOfCharge(ending.charge);
  return ending.holdId === null ? null : holdReceipt(history, ending.holdId);
}

function Transcript({ messages, running }: { messages: readonly UIMessage[]; running: boolean }) {
  if (messages.length === 0) return null;
  return (
    // Not a live region: announcing every streamed word would drown the reader; the status line says when it ends.
    <ol className="chat-log" aria-label="Conversation" aria-busy={running}>
      {messages.map((m) => (
        <li key={m.id} className={`chat-message ${m.role}`} data-role={m.role}>
          <span className="chat-speaker">{m.role === "user" ? "You" : "Answer"}</span>
          <p>{messageText(m)}</p>
        </li>
      ))}
    </ol>
  );
}
