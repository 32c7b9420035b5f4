// Deploy upload from the browser. A folder (drag and drop, or the directory
// picker) goes through the incremental protocol like `fazt deploy`: SHA-256 of
// every file (crypto.subtle), POST the manifest, PUT only the contents the
// server lacks, then commit. An archive (.zip, .tar, .tar.gz) is sent as is.
import { api, send, seg } from "./api.js";
import { h, fill, errorSlot, bytes } from "./dom.js";

const ARCHIVE_RE = /\.(zip|tar|tgz|tar\.gz)$/i;
const PARALLEL = 4;

export function uploader(base, onDeployed) {
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const error = errorSlot();
  const activate = h("input", { type: "checkbox", id: "upload-activate", checked: true });
  const folder = h("input", { type: "file", id: "upload-folder", webkitdirectory: true, multiple: true });
  const archive = h("input", { type: "file", id: "upload-archive", accept: ".zip,.tar,.tgz,.gz" });
  const controls = [folder, archive];
  let running = false;

  const run = async (job) => {
    if (running) return;
    running = true;
    error.textContent = "";
    for (const c of controls) c.disabled = true;
    drop.setAttribute("aria-busy", "true");
    bar.hidden = false;
    bar.value = 0;
    try {
      const d = await job({ activate: activate.checked, status: (t) => (status.textContent = t), progress: (v) => (bar.value = v) });
      bar.value = 1;
      fill(
        status,
        `Deploy ${d.id}: ${d.files} files, ${bytes(d.bytes)}. `,
        d.live ? "Live at " : "Preview at ",
        h("a", { href: d.url, target: "_blank", rel: "noopener" }, d.url),
      );
      await onDeployed();
    } catch (err) {
      error.textContent = err.message;
      status.textContent = "";
      bar.hidden = true;
    } finally {
      running = false;
      for (const c of controls) c.disabled = false;
      drop.removeAttribute("aria-busy");
      folder.value = "";
      archive.value = "";
    }
  };

  folder.addEventListener("change", () => {
    const files = [...folder.files].map((f) => ({ path: f.webkitRelativePath.split("/").slice(1).join("/"), file: f }));
    if (files.length) run((o) => deployFiles(base, files, o));
  });
  archive.addEventListener("change", () => {
    const f = archive.files[0];
    if (f) run((o) => deployArchive(base, f, o));
  });

  const drop = h("div", { class: "drop", id: "upload-drop" }, h("p", null, "Drop a folder or an archive here"));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
    const single = entries.length === 1 && entries[0].isFile ? await fileOf(entries[0]) : null;
    if (single && ARCHIVE_RE.test(single.name)) return run((o) => deployArchive(base, single, o));
    // One dropped folder is the site's root; several items are the root's content.
    const roots = entries.length === 1 && entries[0].isDirectory ? await readDir(entries[0]) : entries;
    const files = [];
    for (const entry of roots) await collect(entry, "", files);
    if (files.length) run((o) => deployFiles(base, files, o));
    else error.textContent = "nothing to upload: the drop held no files";
  });

  return h(
    "div",
    null,
    drop,
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "upload-folder" }, "Choose a folder"), folder),
      h("div", { class: "field" }, h("label", { for: "upload-archive" }, "Or an archive (.zip, .tar, .tar.gz)"), archive),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { class: "check", for: "upload-activate" }, activate, "Make it live when uploaded (else a preview)"),
    ),
    bar,
    status,
    error,
  );
}

const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));

async function readDir(dir) {
  const reader = dir.createReader();
  const all = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function collect(entry, prefix, out) {
  const path = prefix + entry.name;
  if (entry.isFile) out.push({ path, file: await fileOf(entry) });
  else for (const child of await readDir(entry)) await collect(child, `${path}/`, out);
}

/** Like `fazt deploy`: no dotfiles or dot-folders (.git, .env, ...). */
const deployable = (path) => path !== "" && !path.split("/").some((part) => part.startsWith("."));

async function sha256(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function deployFiles(base, all, { activate, status, progress }) {
  const files = all.filter((f) => deployable(f.path));
  if (files.length === 0) throw new Error("no files to deploy (dotfiles are skipped)");
  if (!crypto.subtle) throw new Error("this page needs HTTPS (or localhost) to hash files");
  let hashed = 0;
  for (const f of files) {
    status(`Hashing ${++hashed} of ${files.length} files…`);
    f.hash = await sha256(f.file);
  }
  const manifest = Object.fromEntries(files.map((f) => [`/${f.path}`, f.hash]));
  const upload = await api("POST", `${base}/uploads`, { files: manifest });
  const byHash = new Map(files.map((f) => [f.hash, f]));
  const needed = upload.required.map((hash) => byHash.get(hash));
  const total = needed.reduce((n, f) => n + f.file.size, 0) || 1;
  const sent = new Map();
  const report = () => {
    const done = [...sent.values()].reduce((a, b) => a + b, 0);
    progress(done / total);
    status(`Uploading ${needed.length} new of ${files.length} files: ${bytes(done)} of ${bytes(total)}…`);
  };
  report();
  await pool(needed, PARALLEL, async (f) => {
    await send("PUT", `${base}/uploads/${seg(upload.id)}/blobs/${f.hash}`, f.file, (n) => (sent.set(f.hash, n), report()));
    sent.set(f.hash, f.file.size);
    report();
  });
  status("Committing…");
  return api("POST", `${base}/uploads/${seg(upload.id)}/commit`, { activate });
}

async function deployArchive(base, file, { activate, status, progress }) {
  const r = await send("POST", `${base}/deploys${activate ? "" : "?activate=false"}`, file, (n) => {
    progress(n / (file.size || 1));
    status(n < file.size ? `Uploading ${bytes(n)} of ${bytes(file.size)}…` : "Unpacking…");
  });
  return r;
}
