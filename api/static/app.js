/* 法规知识检索 — the web page. Plain JS, no dependencies. Hash routes:
   #/search?q=…  #/ask?q=…  #/regs  #/reg/<id>  #/article/<id>/<no>?version_id=…  #/outreach?agency=…&region=…
   #/admin */
"use strict";

const $ = (sel) => document.querySelector(sel);
const KEY_STORE = "lawsearch.apiKey";

// ---- small DOM helpers (text only; never innerHTML with server text) --------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/* The search snippet is HTML-escaped text with <mark> around matched words: rebuild it from text nodes and
   <mark> elements only, so nothing else from the server can become markup. */
function markedSnippet(html) {
  const doc = new DOMParser().parseFromString(`<div>${html || ""}</div>`, "text/html");
  const out = el("p", { class: "snippet" });
  const walk = (node, into) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) into.append(document.createTextNode(child.textContent));
      else if (child.nodeName === "MARK") into.append(el("mark", {}, child.textContent));
      else walk(child, into);
    }
  };
  walk(doc.body.firstChild, out);
  return out;
}

/* Text with the given tokens (file names, key ids) and file extensions (.pdf) set as <code>: they are names, not words. */
function withCode(text, tokens) {
  const names = [...new Set((tokens || []).filter(Boolean))].sort((a, b) => b.length - a.length)
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp([...names, "\\.[A-Za-z]{2,5}(?![A-Za-z])"].join("|"), "g");
  const out = [];
  let last = 0;
  for (const m of String(text || "").matchAll(pattern)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(el("code", {}, m[0]));
    last = m.index + m[0].length;
  }
  out.push(String(text || "").slice(last));
  return out;
}

/* replaceChildren that skips null/false (optional sections). */
function fill(container, ...nodes) {
  container.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

function toast(msg, bad) {
  const t = $("#toast");
  t.textContent = msg;
  t.className = "toast" + (bad ? " bad" : "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 2500);
}

async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {
      const ta = el("textarea", { class: "offscreen", readonly: true });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    toast(`已复制：${text}`);
  } catch (e) {
    toast("复制失败，请手动选择文字复制", true);
  }
}

function copyButton(citation) {
  return el("button", { type: "button", class: "copy", title: "复制引用", "data-citation": citation,
    onclick: () => copyText(citation) }, "复制引用");
}

// ---- input limits: a visible count, the same limit as the API (data-max) ------------------------------------
function charCount(text) { return [...(text || "")].length; }

function updateCount(input) {
  const max = Number(input.dataset.max), n = charCount(input.value);
  const out = document.getElementById(`${input.id}-count`);
  if (!out) return;
  out.textContent = n > max ? `${n}/${max} 字，超出 ${n - max} 字，请删减后再提交` : `${n}/${max} 字`;
  out.classList.toggle("over", n > max);
}

/* false (and says why) when an input holds more than its limit. */
function withinLimit(input, what) {
  const max = Number(input.dataset.max), n = charCount(input.value);
  if (n <= max) return true;
  updateCount(input);
  toast(`${what}最多 ${max} 个字，现有 ${n} 个`, true);
  input.focus();
  return false;
}

// ---- API ------------------------------------------------------------------------------------------------
async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (opts.admin) {
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers["X-API-Key"] = key;
  }
  let resp;
  try {
    resp = await fetch(path, { method: opts.method || "GET", headers, body: opts.body });
  } catch (e) {
    throw new Error("无法连接服务器，请检查网络");
  }
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const msg = (data && data.message) || `请求失败（${resp.status}）`;
    const err = new Error(data && data.detail ? `${msg}：${data.detail}` : msg);
    err.status = resp.status;
    err.body = data;
    throw err;
  }
  return data;
}

function articleHref(regId, no, suffix, versionId) {
  const n = `${no}${suffix || ""}`;
  return `#/article/${encodeURIComponent(regId)}/${encodeURIComponent(n)}` +
    (versionId ? `?version_id=${encodeURIComponent(versionId)}` : "");
}

function meta(h) {
  const parts = [h.level, h.region, h.version_date && `版本 ${h.version_date}`, h.status,
    h.is_current === false ? "历史版本" : null];
  return el("p", { class: "meta" }, parts.filter(Boolean).join(" · "));
}

function showError(container, err) {
  container.replaceChildren(el("p", { class: "error" }, err.message || String(err)));
}

// ---- 检索 -----------------------------------------------------------------------------------------------
function searchParams() {
  const p = new URLSearchParams();
  p.set("q", $("#q").value.trim());
  const pairs = [["scope", "#f-scope"], ["region", "#f-region"], ["level", "#f-level"], ["agency", "#f-agency"],
                 ["as_of", "#f-asof"]];
  for (const [k, sel] of pairs) { const v = $(sel).value.trim(); if (v) p.set(k, v); }
  if ($("#f-all").checked) p.set("all_versions", "true");
  return p;
}

/* Feedback: the article that answered the question, or "none of these" (POST /api/feedback). */
function articleRef(h) {
  return { title: h.title, article_no: h.article_no, article_suffix: h.article_suffix || "" };
}

async function sendFeedback(question, hits, chosen, status) {
  try {
    const body = { question, article: chosen ? articleRef(chosen) : null, shown: hits.slice(0, 50).map(articleRef) };
    const data = await api("/api/feedback", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    status.textContent = data.message;
  } catch (e) {
    status.textContent = e.message || String(e);
  }
}

function feedbackBar(question, hits) {
  const status = el("span", { class: "feedback-status", role: "status" });
  const bar = el("li", { class: "feedback" }, "这些条文回答了您的问题吗？可在回答了问题的条文旁点“就是这条”，或者 ",
    el("button", { type: "button", class: "link", onclick: () => sendFeedback(question, hits, null, status) }, "都不是"),
    status);
  return { bar, status };
}

function renderHit(h, feedback) {
  const cite = h.citation || `《${h.title}》${h.label}`;
  return el("li", { class: "hit" },
    el("div", { class: "hit-head" },
      el("a", { class: "cite", href: articleHref(h.regulation_id, h.article_no, h.article_suffix, h.version_id) }, cite),
      copyButton(cite),
      feedback ? el("button", { type: "button", class: "copy", title: "这条回答了我的问题",
        onclick: () => feedback(h) }, "就是这条") : null),
    (h.headings || []).length ? el("p", { class: "headings" }, h.headings.join(" › ")) : null,
    markedSnippet(h.snippet),
    meta(h),
    h.is_penalty ? el("span", { class: "tag" }, "法律责任") : null,
    linkedList(h),
    levelList(h));
}

/* The same rule at the other levels (national, province, city), found by wording (search.levels). */
function levelList(h) {
  const levels = h.levels || [];
  if (!levels.length) return null;
  const local = h.region && h.region !== "全国";
  return el("details", { class: "levels" },
    el("summary", {}, local ? `国家法律中的相应规定（${levels.length}）` : `本地（省、市）的相应规定（${levels.length}）`),
    el("p", { class: "levels-note" }, "按条文文字相似度找到，可能是同一规定在不同层级的表述，引用前请核对原文。"),
    el("ul", {}, levels.map((x) => el("li", {},
      el("a", { href: articleHref(x.regulation_id, x.article_no, x.article_suffix, x.version_id) },
        x.citation || `《${x.title}》${x.label}`),
      copyButton(x.citation || `《${x.title}》${x.label}`),
      el("p", { class: "linked-text" }, x.text)))));
}

/* The duty a penalty punishes, or the penalty of a duty, shown with the hit (search.linking). */
function linkedList(h) {
  const links = h.linked || [];
  if (!links.length) return null;
  return el("details", { class: "linked" },
    el("summary", {}, h.is_penalty ? `所处罚的义务条款（${links.length}）` : `违反本条的法律责任（${links.length}）`),
    el("ul", {}, links.map((x) => el("li", {},
      el("a", { href: articleHref(h.regulation_id, x.article_no, x.article_suffix, x.version_id) },
        `《${x.title}》${x.label}`),
      el("p", { class: "linked-text" }, x.text)))));
}

// ---- 普法责任清单 -----------------------------------------------------------------------------------------
function outreachParams() {
  const p = new URLSearchParams();
  p.set("agency", $("#o-agency").value.trim());
  const region = $("#o-region").value.trim();
  if (region) p.set("region", region);
  return p;
}

async function runOutreach(params) {
  const box = $("#outreach");
  $("#o-agency").value = params.get("agency") || "";
  $("#o-region").value = params.get("region") || "";
  for (const id of ["#o-print", "#o-html", "#o-docx"]) $(id).hidden = true;
  if (!params.get("agency")) { box.replaceChildren(); return; }
  box.replaceChildren(el("p", { class: "info" }, "生成中…"));
  try {
    // The list as outreach/render.py renders it for every format (markup of ours, every text escaped there):
    // fields, contents, one collapsible section per regulation; sections open for printing.
    const page = new DOMParser().parseFromString(await api(`/api/outreach?${params.toString()}&format=fragment`),
      "text/html");
    box.replaceChildren(...page.body.childNodes);
    window.onbeforeprint = () => box.querySelectorAll("details").forEach((d) => { d.open = true; });
    box.querySelectorAll("nav.toc a").forEach((a) => a.addEventListener("click", (ev) => {
      ev.preventDefault();  // the page's own routes live in the hash
      const section = box.querySelector(a.getAttribute("href"));
      section.querySelector("details").open = true;
      section.scrollIntoView();
    }));
    $("#o-html").href = `/api/outreach?${params.toString()}&format=html`;
    $("#o-docx").href = `/api/outreach?${params.toString()}&format=docx`;
    for (const id of ["#o-print", "#o-html", "#o-docx"]) $(id).hidden = false;
  } catch (e) {
    showError(box, e);
  }
}

async function runSearch(params) {
  const info = $("#search-info"), list = $("#results");
  $("#q").value = params.get("q") || "";
  for (const [k, sel] of [["scope", "#f-scope"], ["region", "#f-region"], ["level", "#f-level"], ["agency", "#f-agency"],
                          ["as_of", "#f-asof"]]) {
    $(sel).value = params.get(k) || "";
  }
  $("#f-all").checked = params.get("all_versions") === "true";
  updateCount($("#q"));
  $("#home").hidden = !!params.get("q");
  if (!params.get("q")) { info.textContent = ""; list.replaceChildren(); return; }
  info.textContent = "检索中…";
  list.replaceChildren();
  try {
    const data = await api(`/api/search?${params.toString()}&top_k=20`);
    const n = data.hits.length;
    const missing = (data.not_found || []).map((m) => m.message).join("；");
    info.textContent = n ? `找到 ${n} 条相关条文` + (data.mode === "citation" ? "（按条文引用直接定位）" : "")
      : (missing ? "" : "没有找到相关条文");
    if (missing) info.textContent += (n ? "；" : "") + missing;
    if (data.candidates && data.candidates.length) {
      info.textContent += `；该名称对应多部法规：${data.candidates.join("、")}`;
    }
    if (n) {
      const { bar, status } = feedbackBar(params.get("q"), data.hits);
      const pick = (h) => sendFeedback(params.get("q"), data.hits, h, status);
      list.replaceChildren(...data.hits.map((h) => renderHit(h, pick)), bar);
    } else {
      list.replaceChildren();
    }
  } catch (e) {
    info.textContent = "";
    showError(list, e);
  }
}

// ---- 提问 -----------------------------------------------------------------------------------------------
function renderAnswer(data) {
  const box = $("#answer");
  box.hidden = false;
  if (!data.grounded) {
    box.replaceChildren(el("p", { class: "nothing" }, data.answer_text || "没有找到能够回答该问题的条文。"));
    return;
  }
  const stmt = (s) => el("li", { class: s.item_no ? "statement item" : "statement" },
    el("blockquote", {}, s.quote),
    el("div", { class: "hit-head" },
      el("a", { class: "cite", href: articleHref(s.regulation_id, s.article_no, s.article_suffix, s.version_id) }, s.citation),
      copyButton(s.citation)));
  const parts = [];
  const c = data.conclusion;
  if (c) {  // a yes/no question: the one-line answer read from the quoted provision's modality
    parts.push(el("p", { class: "conclusion" }, el("strong", {}, `结论：${c.label}。`),
      `“${c.statement.quote}”`,
      el("a", { class: "cite", href: articleHref(c.statement.regulation_id, c.statement.article_no,
        c.statement.article_suffix, c.statement.version_id) }, c.statement.citation)));
  }
  // the grounds, each section a list of verbatim quotes (a 项 under its lead-in)
  const sections = [["applies", "相关条文规定"], ["penalty", "违反上述规定的法律责任"], ["enforcer", "执法部门"],
    ["recourse", "可以向哪里反映或申请"]];
  for (const [role, heading] of sections) {
    const group = data.statements.filter((s) => (s.role || "applies") === role);
    if (!group.length) continue;
    parts.push(el("h2", {}, heading));
    parts.push(el("ol", { class: "statements" }, group.map(stmt)));
  }
  if (data.mode && data.mode !== "extractive") {
    parts.unshift(el("p", { class: "generated" }, data.answer_text));
  }
  parts.push(el("p", { class: "note" }, "以上内容摘自法规原文，仅供参考，不构成法律意见。"));
  box.replaceChildren(...parts);
}

async function runAsk(question) {
  const box = $("#answer");
  $("#question").value = question || "";
  updateCount($("#question"));
  if (!question) { box.hidden = true; return; }
  box.hidden = false;
  box.replaceChildren(el("p", { class: "info" }, "正在查找相关条文…"));
  try {
    const data = await api("/api/ask", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question }) });
    renderAnswer(data);
  } catch (e) {
    showError(box, e);
  }
}

// ---- 条文 -----------------------------------------------------------------------------------------------
function linkList(title, links) {
  if (!links || !links.length) return null;
  return el("div", { class: "links" }, el("h3", {}, title),
    el("ul", {}, links.map((l) => el("li", {},
      l.regulation_id && l.article_no
        ? el("a", { href: articleHref(l.regulation_id, l.article_no, l.article_suffix) }, l.citation)
        : el("span", {}, l.citation)))));
}

function articleBody(a) {
  const clauses = a.clauses && a.clauses.length ? a.clauses : (a.text || "").split("\n").map((t) => ({ text: t, items: [] }));
  return el("div", { class: "article-text" }, clauses.map((c) =>
    el("div", { class: "clause" }, el("p", {}, c.text), (c.items || []).map((i) => el("p", { class: "item" }, i)))));
}

async function showArticle(regId, ref, params) {
  const box = $("#article");
  box.replaceChildren(el("p", { class: "info" }, "载入中…"));
  try {
    const q = new URLSearchParams();
    if (params.get("version_id")) q.set("version_id", params.get("version_id"));
    if (params.get("as_of")) q.set("as_of", params.get("as_of"));
    const data = await api(`/api/regulations/${encodeURIComponent(regId)}/articles/${encodeURIComponent(ref)}?${q}`);
    const a = data.article, v = data.version;
    const cite = a.citation || `《${a.title}》${a.label}`;
    const versionSel = el("select", { id: "version-select", "aria-label": "版本" },
      data.versions.map((x) => el("option", { value: x.version_id, selected: x.version_id === v.version_id },
        `${x.version_date || "未注明日期"}${x.is_current ? "（现行）" : "（历史）"}`)));
    versionSel.addEventListener("change", () => {
      location.hash = articleHref(regId, a.article_no, a.article_suffix, versionSel.value);
    });
    const nav = el("div", { class: "nav" },
      data.nav.prev ? el("a", { href: articleHref(regId, navNo(data.nav.prev), "", v.version_id) }, `‹ ${data.nav.prev}`) : el("span"),
      el("a", { href: `#/reg/${encodeURIComponent(regId)}` }, "全文目录"),
      data.nav.next ? el("a", { href: articleHref(regId, navNo(data.nav.next), "", v.version_id) }, `${data.nav.next} ›`) : el("span"));
    const chapter = el("div", { class: "chapter" },
      el("h3", {}, (data.chapter.headings || []).join(" › ") || "同章条文"),
      el("ol", {}, data.chapter.articles.map((c) => el("li", { class: c.current ? "current" : "" },
        el("a", { href: articleHref(regId, c.article_no, c.article_suffix, v.version_id) }, c.label),
        " ", el("span", { class: "preview" }, (c.text || "").slice(0, 40) + ((c.text || "").length > 40 ? "…" : ""))))));
    fill(box,
      el("p", { class: "crumbs" }, el("a", { href: `#/reg/${encodeURIComponent(regId)}` }, `《${a.title}》`),
        (a.headings || []).length ? ` › ${a.headings.join(" › ")}` : ""),
      el("div", { class: "hit-head" }, el("h2", { class: "cite" }, cite), copyButton(cite)),
      el("div", { class: "row" }, el("label", {}, "版本 ", versionSel)),
      v.is_current ? null : el("p", { class: "warn" }, "这是历史版本，已被新版本取代。"),
      data.versions.length > 1 ? compareLink(regId, a.label, v.is_current, v.version_date) : null,
      articleBody(a),
      meta(Object.assign({}, v, { is_current: v.is_current })),
      linkList("违反本条的法律责任", data.links.penalized_by),
      linkList("本条处罚的违法行为（义务条款）", data.links.penalizes),
      linkList("本条引用", data.links.cites),
      linkList("本条被引用", data.links.cited_by),
      nav, chapter);
  } catch (e) {
    showError(box, e);
  }
}

function navNo(label) {
  // 第二十一条之一 → 21之一 is resolved by the server; it accepts the label itself.
  return label;
}

// ---- 法规 -----------------------------------------------------------------------------------------------
let regsCache = null;
async function loadRegs() {
  if (!regsCache) regsCache = (await api("/api/regulations")).regulations;
  return regsCache;
}

async function showRegs() {
  const list = $("#reg-list");
  try {
    const regs = await loadRegs();
    const f = $("#reg-filter").value.trim();
    const shown = regs.filter((r) => !f || r.title.includes(f));
    $("#reg-count").textContent = f ? `找到 ${shown.length} 部法规（共 ${regs.length} 部）` : `共 ${regs.length} 部法规`;
    list.replaceChildren(...shown.map((r) => el("li", {},
      el("a", { href: `#/reg/${encodeURIComponent(r.regulation_id)}` }, r.title),
      el("p", { class: "meta" }, [r.level, r.region, r.version_date && `版本 ${r.version_date}`, r.status,
        `${r.article_count || 0} 条`, r.versions > 1 ? `${r.versions} 个版本` : null].filter(Boolean).join(" · ")))));
  } catch (e) {
    showError(list, e);
  }
}

/* A version by its own date and event: "2021-06-10 修正（现行）" (the event of the history on that date). */
function versionName(v) {
  const own = (v.history || []).find((h) => h.date && h.date === v.version_date);
  return `${v.version_date || "未注明日期"}${own ? ` ${own.event}` : ""}${v.is_current ? "（现行）" : "（历史）"}`;
}

async function showReg(regId, params) {
  const box = $("#reg-detail");
  box.replaceChildren(el("p", { class: "info" }, "载入中…"));
  try {
    const q = params.get("version_id") ? `?version_id=${encodeURIComponent(params.get("version_id"))}` : "";
    const d = await api(`/api/regulations/${encodeURIComponent(regId)}${q}`);
    const groups = [];
    let last = null;
    for (const t of d.toc) {
      const key = (t.headings || []).join(" › ");
      if (!last || last.key !== key) { last = { key, items: [] }; groups.push(last); }
      last.items.push(t);
    }
    fill(box,
      el("h2", {}, d.title),
      el("p", { class: "meta" }, [d.level, d.region, d.office, d.status].filter(Boolean).join(" · ")),
      el("p", { class: "meta" }, "法规编号：", el("code", {}, d.regulation_id)),
      (d.history || []).length ? el("p", { class: "meta" }, "沿革：" + d.history.map((h) => `${h.date} ${h.event}`).join("；")) : null,
      el("h3", {}, `版本（${d.versions.length} 个）`),
      el("ul", { class: "versions" }, d.versions.map((v) => el("li", {},
        el("a", { href: `#/reg/${encodeURIComponent(regId)}?version_id=${encodeURIComponent(v.version_id)}` },
          versionName(v)),
        v.own_effective_date ? ` · 自 ${v.own_effective_date} 起施行`
          : v.first_effective_date ? ` · 首次施行 ${v.first_effective_date}（本版施行日期原文未载明）` : ""))),
      el("h3", {}, `目录（${d.version_date || ""}版）`),
      ...groups.map((g) => el("div", { class: "toc-group" },
        g.key ? el("h4", {}, g.key) : null,
        el("ol", { class: "toc" }, g.items.map((t) => el("li", {},
          el("a", { href: articleHref(regId, t.article_no, t.article_suffix, d.version_id) }, t.label || "段落"),
          " ", el("span", { class: "preview" }, t.preview)))))));
  } catch (e) {
    showError(box, e);
  }
}

// ---- 管理 -----------------------------------------------------------------------------------------------
function keyState() {
  const has = !!sessionStorage.getItem(KEY_STORE);
  $("#key-state").textContent = has ? "已保存密钥（关闭标签页后失效）" : "尚未输入密钥";
}

async function upload(ev) {
  ev.preventDefault();
  const out = $("#upload-result");
  const files = $("#upload-files").files;
  if (!sessionStorage.getItem(KEY_STORE)) { showError(out, new Error("请先输入管理员密钥")); return; }
  if (!files.length) { showError(out, new Error("请选择文件")); return; }
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  out.replaceChildren(el("p", { class: "info" }, `正在上传并导入 ${files.length} 个文件…`));
  try {
    const data = await api("/api/regulations", { method: "POST", body: form, admin: true });
    regsCache = null;
    out.replaceChildren(...uploadReport(data.result, data.files));
    refreshCounts();
  } catch (e) {
    if (e.body && e.body.files) {  // every file turned away: the request is refused, each file still reported
      out.replaceChildren(...uploadReport("failed", e.body.files));
    } else if (e.body && e.body.message) {  // refused as a whole (too many files, too large …)
      out.replaceChildren(el("p", { class: "error" }, "导入失败：", withCode(e.body.message),
        e.body.detail ? el("span", {}, "（", el("code", {}, e.body.detail), "）") : null));
    } else {
      showError(out, e);
    }
  }
}

/* One line for the batch, one per file: imported (with its regulations), unchanged, or the reason it was not. */
function uploadReport(result, files) {
  const done = files.filter((f) => f.ok).length, failed = files.length - done;
  return [el("p", { class: result === "ok" ? "ok" : "warn" },
    (result === "ok" ? "导入完成" : result === "partial" ? "部分文件导入失败" : "导入失败") +
      `：共 ${files.length} 个文件，成功 ${done} 个` + (failed ? `，未导入 ${failed} 个` : "")),
    el("ul", { class: "upload-results" }, files.map((f) => el("li", { class: f.ok ? "ok" : "error" },
      el("code", {}, f.filename), "：",
      f.ok ? (f.unchanged ? "内容未变化，已跳过" : `已导入，条文 ${f.articles} 条`) : "未导入",
      (f.regulations || []).map((r) => el("span", {}, " ",
        el("a", { href: `#/reg/${encodeURIComponent(r.regulation_id)}` }, `《${r.title}》`))),
      (f.errors || []).map((e) => el("span", { class: "reason" }, "——", withCode(e.message))))))];
}

async function deleteReg(ev) {
  ev.preventDefault();
  const id = $("#delete-id").value.trim(), ver = $("#delete-version").value.trim();
  if (!confirm(`确定删除 ${ver || id}？此操作不可撤销。`)) return;
  try {
    const q = ver ? `?version_id=${encodeURIComponent(ver)}` : "";
    const d = await api(`/api/regulations/${encodeURIComponent(id)}${q}`, { method: "DELETE", admin: true });
    regsCache = null;
    toast(`已删除 ${d.versions_deleted} 个版本`);
    refreshCounts();
  } catch (e) {
    toast(e.message, true);
  }
}

async function loadAudit() {
  const list = $("#audit-list");
  try {
    const d = await api("/api/audit?limit=50", { admin: true });
    const when = (e) => (e.ts ? new Date(e.ts * 1000) : new Date(e.time)).toLocaleString("zh-CN", { hour12: false });
    list.replaceChildren(...d.entries.map((e) => el("li", {},
      el("time", { datetime: e.time }, when(e)), " ",
      withCode(e.message || `${e.action} → ${e.result}`,
        [e.who, e.target, ...((e.detail && e.detail.files) || []).map((f) => f.name)]))));
    if (!d.entries.length) list.replaceChildren(el("li", { class: "info" }, "还没有操作记录"));
  } catch (e) {
    showError(list, e);
  }
}

// ---- routing --------------------------------------------------------------------------------------------
function show(view, tab) {
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${view}`;
  for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("active", a.dataset.tab === tab);
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/search";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "ask": show("ask", "ask"); runAsk(params.get("q") || ""); break;
    case "regs": show("regs", "regs"); showRegs(); break;
    case "reg": show("reg", "regs"); showReg(parts[1], params); break;
    case "article": show("article", "regs"); showArticle(parts[1], parts[2], params); break;
    case "outreach": show("outreach", "outreach"); runOutreach(params); break;
    case "compare": show("compare", "regs"); showCompare(parts[1], params); break;
    case "verify": show("verify", "verify"); break;
    case "admin": show("admin", "admin"); keyState(); break;
    default: show("search", "search"); runSearch(params);
  }
  window.scrollTo(0, 0);
}

async function fillFilters() {
  try {
    const regs = await loadRegs();
    const uniq = (xs) => [...new Set(xs.filter(Boolean))].sort();
    for (const [sel, field] of [["#f-region", "region"], ["#f-level", "level"]]) {
      const current = $(sel).value;
      for (const v of uniq(regs.map((r) => r[field]))) $(sel).append(el("option", { value: v }, v));
      $(sel).value = current;
    }
    const agencies = uniq(regs.flatMap((r) => r.agencies || []));
    $("#agency-list").replaceChildren(...agencies.map((a) => el("option", { value: a })));
    $("#region-list").replaceChildren(...uniq(regs.map((r) => r.region)).map((v) => el("option", { value: v })));
  } catch (e) { /* the filters stay at 全部 */ }
  refreshCounts();
}

/* The footer: how many regulations (and versions) the index holds, and the retrieval in use, in Chinese. */
async function refreshCounts() {
  try {
    const h = await api("/healthz");
    $("#health").textContent = `收录法规 ${h.counts.regulations} 部（${h.counts.versions} 个版本）· 检索方式：${h.retrieval_label || ""}`;
  } catch (e) { /* optional */ }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!withinLimit($("#q"), "查询内容")) return;
    location.hash = `#/search?${searchParams().toString()}`;
  });
  for (const sel of ["#q", "#question"]) $(sel).addEventListener("input", () => updateCount($(sel)));
  for (const sel of ["#f-scope", "#f-region", "#f-level", "#f-asof", "#f-all"]) {
    $(sel).addEventListener("change", () => { if ($("#q").value.trim()) location.hash = `#/search?${searchParams()}`; });
  }
  $("#ask-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!withinLimit($("#question"), "问题")) return;
    const q = $("#question").value.trim();
    const target = `#/ask?q=${encodeURIComponent(q)}`;
    if (location.hash === target) runAsk(q); else location.hash = target;
  });
  $("#question").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("#ask-form").requestSubmit();
  });
  $("#reg-filter").addEventListener("input", showRegs);
  $("#outreach-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/outreach?${outreachParams().toString()}`;
  });
  $("#o-print").addEventListener("click", () => window.print());
  $("#key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("#api-key").value.trim();
    if (k) sessionStorage.setItem(KEY_STORE, k);
    $("#api-key").value = "";
    keyState();
  });
  $("#key-clear").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); keyState(); });
  $("#upload-form").addEventListener("submit", upload);
  $("#delete-form").addEventListener("submit", deleteReg);
  $("#audit-load").addEventListener("click", loadAudit);
  window.addEventListener("hashchange", route);
  fillFilters();
  route();
});
