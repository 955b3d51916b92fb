// Async: the local queues (dead-letter queues and destinations, docs/async.md) with their depth;
// read a queue's messages with their error attributes (visibility 0: reading hides nothing), and
// redrive or purge a queue.
import * as api from "../api.js";
import { announce, busy, formatDate, h, replace, showError } from "../ui.js";

export async function asyncPage(main) {
  const errors = h("div.errors", { "aria-live": "polite" });
  const list = h("div.table-wrap", {});
  const messages = h("section.messages", { "aria-live": "polite", "aria-label": "Messages" });
  const refresh = h("button", { type: "button" }, "Refresh");
  replace(
    main,
    h("div.page-head", {}, h("h1", {}, "Async queues"), h("div.actions", {}, refresh)),
    h(
      "p.hint",
      {},
      "Queues are created when a function's DeadLetterConfig or destination names arn:aws:sqs:…:NAME. " +
        "A function's own backlog of events is on its page.",
    ),
    errors,
    list,
    messages,
  );
  const load = () =>
    busy(refresh, errors, async () => {
      const { Queues: queues = [] } = await api.listQueues();
      if (!queues.length) {
        replace(list, h("p.empty", {}, "No queues yet."));
        return;
      }
      replace(
        list,
        h(
          "table.queues",
          {},
          h("thead", {}, h("tr", {}, ["Queue", "Visible", "In flight", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, queues.map((q) => queueRow(q, messages, load))),
        ),
      );
    });
  refresh.addEventListener("click", load);
  await load();
}

function queueRow(q, messages, reload) {
  const show = h("button", { type: "button" }, "Messages");
  const redrive = h("button", { type: "button", title: "Turn dead letters back into events of their function" }, "Redrive");
  const purge = h("button.danger", { type: "button" }, "Purge");
  show.addEventListener("click", () =>
    busy(show, messages, async () => {
      const { Messages: got = [] } = await api.peekMessages(q.Name, 10);
      replace(messages, h("h2", {}, `Messages in ${q.Name}`), got.length ? got.map(message) : h("p.empty", {}, "No visible messages."));
    }),
  );
  redrive.addEventListener("click", () =>
    busy(redrive, messages, async () => {
      const r = await api.redriveQueue(q.Name);
      announce(`Redrove ${r.Redriven} message(s) from ${q.Name}`);
      replace(messages);
      await reload();
    }),
  );
  purge.addEventListener("click", () => {
    if (!confirm(`Purge every message of ${q.Name}?`)) return;
    busy(purge, messages, async () => {
      const r = await api.purgeQueue(q.Name);
      announce(`Purged ${r.Purged} message(s) from ${q.Name}`);
      replace(messages);
      await reload();
    });
  });
  return h(
    "tr",
    { "data-queue": q.Name },
    h("th", { scope: "row" }, q.Name, h("br"), h("small.arn", {}, q.Arn)),
    h("td.num", {}, q.ApproximateNumberOfMessages),
    h("td.num", {}, q.ApproximateNumberOfMessagesNotVisible),
    h("td.row-actions", {}, show, " ", redrive, " ", purge),
  );
}

function message(m) {
  let body = m.Body;
  try {
    body = JSON.stringify(JSON.parse(m.Body), null, 2);
  } catch {
    // Not JSON: shown as sent.
  }
  const attributes = Object.entries(m.MessageAttributes || {}).map(([k, v]) => {
    const value = v && typeof v === "object" ? v.StringValue ?? v.stringValue ?? JSON.stringify(v) : String(v);
    return [h("dt", {}, k), h("dd", {}, value)];
  });
  const sent = m.Attributes && m.Attributes.SentTimestamp ? formatDate(Number(m.Attributes.SentTimestamp)) : "";
  return h(
    "article.card.message",
    {},
    h("p", {}, h("strong", {}, m.MessageId), h("small", {}, ` sent ${sent}, received ${m.Attributes?.ApproximateReceiveCount ?? "?"} time(s)`)),
    attributes.length ? h("dl.summary", {}, attributes.flat()) : null,
    h("pre", { tabindex: 0 }, body),
  );
}
