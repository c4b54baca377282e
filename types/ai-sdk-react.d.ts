/**
 * TEMPORARY: the part of @ai-sdk/react 4.0.177 (the release built on ai 7.0.173, the `ai`
 * this app pins) that app/_components/useMeteredChat.ts uses, copied from its useChat
 * signature so the app typechecks before the package is installed. Delete this file once
 * `@ai-sdk/react` is in package.json: an ambient module declaration wins over the package's
 * own types, so leaving it would hide theirs.
 */
declare module "@ai-sdk/react" {
  import type { AbstractChat, ChatInit, UIMessage } from "ai";

  export type UseChatHelpers<UI_MESSAGE extends UIMessage> = {
    readonly id: string;
    setMessages: (messages: UI_MESSAGE[] | ((messages: UI_MESSAGE[]) => UI_MESSAGE[])) => void;
    error: Error | undefined;
  } & Pick<
    AbstractChat<UI_MESSAGE>,
    "sendMessage" | "regenerate" | "stop" | "resumeStream" | "addToolOutput" | "addToolApprovalResponse" | "status" | "messages" | "clearError"
  >;

  export type UseChatOptions<UI_MESSAGE extends UIMessage> = ChatInit<UI_MESSAGE> & {
    /** Milliseconds between two re-renders for message updates; none by default. */
    experimental_throttle?: number;
    resume?: boolean;
  };

  export function useChat<UI_MESSAGE extends UIMessage = UIMessage>(options?: UseChatOptions<UI_MESSAGE>): UseChatHelpers<UI_MESSAGE>;
}
