/* 新旧对照 and 引用核验 views of the page (routes #/compare/<regulation id>?from=&to=&focus=<label> and #/verify).
   Uses app.js's helpers ($, el, fill, api, showError, articleHref); text only, never innerHTML. */
"use strict";

const COMPARE_NAMES = { same: "未变", renumbered: "条号变化", modified: "修改", inserted: "插入", added: "新增",
                        split: "拆分", merged: "合并", deleted: "删除" };

/* The link an article of a regulation with several versions shows; an article of a superseded version is found
   among the older articles of the comparison (focus=old:第九条). */
function compareLink(regId, label, isCurrent, versionDate) {
  const q = new URLSearchParams({ focus: `${isCurrent === false ? "old:" : ""}${label || ""}` });
  if (isCurrent === false && versionDate) q.set("from", versionDate);
  return el("p", { class: "compare-link" }, el("a", { href: `#/compare/${encodeURIComponent(regId)}?${q}` }, "新旧对照"));
}

function diffText(row, side) {
  const segs = row.changes;
  if (!segs) return el("div", { class: "cmp-text" }, side === "old" ? row.old_text || "" : row.new_text || "");
  return el("div", { class: "cmp-text" }, segs.filter((s) => s.op === "equal" || s.op === (side === "old" ? "delete" : "insert"))
    .map((s) => (s.op === "equal" ? s.text : el(side === "old" ? "del" : "ins", {}, s.text))));
}

async function showCompare(regId, params) {
  const box = $("#compare");
  box.replaceChildren(el("p", { class: "info" }, "载入中…"));
  try {
    const q = new URLSearchParams({ regulation: regId });
    for (const k of ["from", "to"]) if (params.get(k)) q.set(k, params.get(k));
    const d = await api(`/api/compare?${q}`);
    const pick = (name, chosen) => {
      const s = el("select", { "aria-label": name === "from" ? "旧版本" : "新版本" },
        d.versions.map((v) => el("option", { value: v.version_date, selected: v.version_date === chosen },
          `${v.version_date || "未注明日期"}${v.is_current ? "（现行）" : ""}`)));
      s.addEventListener("change", () => {
        const p = new URLSearchParams(params);
        p.set(name, s.value);
        location.hash = `#/compare/${encodeURIComponent(regId)}?${p}`;
      });
      return s;
    };
    const summary = el("p", { class: "cmp-summary" }, Object.entries(d.summary).filter(([, n]) => n)
      .map(([k, n]) => el("span", { class: `badge cmp-${k}` }, `${COMPARE_NAMES[k]} ${n}`)));
    const focus = params.get("focus") || "";
    const focused = (r) => (focus.startsWith("old:") ? r.old.includes(focus.slice(4)) : focus && r.new === focus);
    const rows = d.rows.map((r) => el("tr", { class: `cmp-${r.status}${focused(r) ? " focus" : ""}`, id: focused(r) ? "cmp-focus" : null },
      el("td", {}, r.old.length ? el("div", { class: "cmp-label" }, r.old.join("、")) : null, r.old.length ? diffText(r, "old") : null),
      el("td", { class: "cmp-status" }, el("span", { class: `badge cmp-${r.status}` }, COMPARE_NAMES[r.status])),
      el("td", {}, r.new ? el("a", { class: "cmp-label", href: articleHref(d.regulation_id, r.new_no, r.new_suffix) }, r.new) : null,
        r.new ? diffText(r, "new") : null)));
    fill(box,
      el("p", { class: "crumbs" }, el("a", { href: `#/reg/${encodeURIComponent(d.regulation_id)}` }, `《${d.title}》`), " › 新旧对照"),
      el("div", { class: "row" }, el("label", {}, "旧版本 ", pick("from", d.from.version_date)),
        el("label", {}, " 新版本 ", pick("to", d.to.version_date))),
      summary,
      el("table", { class: "cmp-table" },
        el("thead", {}, el("tr", {}, el("th", {}, `${d.from.version_date} 版`), el("th", {}, ""), el("th", {}, `${d.to.version_date} 版`))),
        el("tbody", {}, rows)));
    const target = document.getElementById("cmp-focus");
    if (target) target.scrollIntoView({ block: "center" });
  } catch (e) {
    showError(box, e);
  }
}

// ---- 引用核验 ---------------------------------------------------------------------------------------------
const VERDICT_CLASS = { current: "ok", superseded: "old", misquoted: "bad", article_not_found: "bad",
                        law_not_found: "bad", ambiguous: "old", unresolved: "old" };

function renderVerify(box, report) {
  const names = report.verdict_names || {};
  const summary = el("p", { class: "cmp-summary" }, `共 ${report.total} 处引用：`,
    Object.entries(report.summary).filter(([, n]) => n).map(([k, n]) => el("span", { class: `badge v-${VERDICT_CLASS[k]}` }, `${names[k]} ${n}`)));
  const text = el("div", { class: "verify-text" }, (report.segments || []).map((s) => (s.citation === undefined ? s.text
    : el("a", { class: `cite-mark v-${VERDICT_CLASS[s.verdict]}`, href: `#verify-c${s.citation}`,
                title: report.citations[s.citation].message }, s.text))));
  const list = el("ol", { class: "verify-list" }, report.citations.map((c, k) => el("li", { id: `verify-c${k}` },
    el("span", { class: `badge v-${VERDICT_CLASS[c.verdict]}` }, c.verdict_name), " ", el("strong", {}, c.written),
    el("div", { class: "note" }, c.message),
    (c.now || []).map((n) => el("div", { class: "note" }, `现行：${n.citation}（${n.status_name}）`)),
    c.quote && c.quote.source ? el("div", { class: "note" }, `引文出处：${c.quote.source.citation}`) : null)));
  fill(box, summary, report.segments ? text : null, list);
}

async function runVerify() {
  const box = $("#verify-result");
  const text = $("#v-text").value.trim();
  const file = $("#v-file").files[0];
  const asOf = $("#v-asof").value;
  if (!text && !file) { box.replaceChildren(el("p", { class: "error" }, "请粘贴文字或选择文件")); return; }
  box.replaceChildren(el("p", { class: "info" }, "核验中…"));
  try {
    let report;
    if (file) {
      const form = new FormData();
      form.append("file", file);
      if (asOf) form.append("as_of", asOf);
      report = await api("/api/verify/file", { method: "POST", body: form });
    } else {
      report = await api("/api/verify", { method: "POST", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify({ text, as_of: asOf || null }) });
    }
    renderVerify(box, report);
  } catch (e) {
    showError(box, e);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = $("#verify-form");
  if (form) form.addEventListener("submit", (ev) => { ev.preventDefault(); runVerify(); });
});
