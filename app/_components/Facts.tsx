import type { ReactNode } from "react";

export interface Fact {
  label: ReactNode;
  value: ReactNode;
  mono?: boolean;
}

/** A definition list of labelled figures, as the balance cards show them. */
export function Facts({ items }: { items: readonly Fact[] }) {
  return (
    <dl className="facts">
      {items.map((fact, i) => (
        <div key={i}>
          <dt>{fact.label}</dt>
          <dd className={fact.mono ? "mono" : undefined} suppressHydrationWarning>{fact.value}</dd>
        </div>
      ))}
    </dl>
  );
}
