// JupyterLab plugin of aisearch_widgets: "AI Search…" on folders (and image files) in
// the file browser, Disable / Update now on folders that have a project, a launcher
// card opening the AI Search home (a folder picker and the list of projects), command
// palette entries and a status bar item whose project list is a non-modal panel.
// Enabling a folder asks first, with a model dropdown and an estimate of the work. The server side is
// aisearch_widgets/labserver.py; the search panel itself runs in a notebook
// (`%aisearch FOLDER`). Every name from disk reaches the page through textContent.
//
// The notebook that "AI Search…" opens runs its cell wherever it opens: in JupyterLab
// in the same page, in Notebook 7 in a new browser tab (the tree page cannot reach into
// that tab). So the request to run travels through localStorage, shared by the tabs of
// one server: `requestRun(path)` before opening, and the `autorun` plugin below, loaded
// in every page, runs the notebook when it is shown there and the request is fresh.
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  showDialog
} from '@jupyterlab/apputils';
import { PathExt, URLExt } from '@jupyterlab/coreutils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { folderIcon, LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

const PLUGIN_ID = 'aisearch-widgets:plugin';
const CATEGORY = 'AI Search';
const IMAGE_EXT = new Set([
  '.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp', '.tif', '.tiff', '.heic', '.heif'
]);

const ICON = new LabIcon({
  name: 'aisearch-widgets:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M9.5 3a6.5 6.5 0 0 1 5.2 10.4l5.4 5.4-1.4 1.4-5.4-5.4A6.5 6.5 0 1 1 9.5 3zm0 2a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9z"/>' +
    '<path d="M9.5 6.5l.8 1.9 1.9.8-1.9.8-.8 1.9-.8-1.9-1.9-.8 1.9-.8z"/></g></svg>'
});

const RUN_KEY = 'aisearch-widgets:run';
/** How long a request to run a notebook waits for its tab to open. */
const RUN_TTL_MS = 120_000;

/** Paths of the notebooks asked to run, each with the time its request expires. */
function pendingRuns(): Record<string, number> {
  try {
    const raw = JSON.parse(window.localStorage.getItem(RUN_KEY) || '{}');
    const now = Date.now();
    const out: Record<string, number> = {};
    for (const [path, until] of Object.entries(raw)) {
      if (typeof until === 'number' && until > now) out[path] = until;
    }
    return out;
  } catch {
    return {};
  }
}

function savePendingRuns(runs: Record<string, number>): void {
  try {
    if (Object.keys(runs).length) window.localStorage.setItem(RUN_KEY, JSON.stringify(runs));
    else window.localStorage.removeItem(RUN_KEY);
  } catch {
    // No storage (private mode, quota): the notebook opens, its cell waits for Run.
  }
}

/** Ask whichever page shows the notebook `path` next to run it (once). */
export function requestRun(path: string): void {
  savePendingRuns({ ...pendingRuns(), [path]: Date.now() + RUN_TTL_MS });
}

/** Whether `path` was asked to run; the request is used up. */
export function takeRun(path: string): boolean {
  const runs = pendingRuns();
  const due = path in runs;
  delete runs[path];
  savePendingRuns(runs);
  return due;
}

/** Resolves once the panel's document and kernel are ready (true), or the panel is
 * disposed first (false: Notebook 7's file browser page makes a panel only to open the
 * notebook in another tab). */
async function whenReady(panel: NotebookPanel): Promise<boolean> {
  if (panel.isDisposed) return false;
  const gone = new Promise<false>(resolve => panel.disposed.connect(() => resolve(false)));
  const ready = Promise.all([panel.context.ready, panel.sessionContext.ready]).then(() => true);
  return (await Promise.race([ready, gone])) && !panel.isDisposed;
}

/** Run every cell of `panel` if it is shown here and was asked to run. */
async function runIfRequested(panel: NotebookPanel): Promise<void> {
  if (!(await whenReady(panel)) || !panel.isAttached) return;
  if (!takeRun(panel.context.path)) return;
  await NotebookActions.runAll(panel.content, panel.sessionContext);
}

/** One project as the server reports it (status only). */
export interface IProjectRow {
  name: string;
  folder: string | null;
  state: string;
  enabled?: boolean;
  done?: number;
  total?: number;
  failed?: number;
  updated_at?: number | null;
  model?: string;
  open?: boolean;
  /** While it syncs: seconds left (-1: not known) and the same for people, as the
   * notebook panel says it ("about 3 min left"; "" when not known). */
  eta?: number;
  eta_text?: string;
}

interface ISettings {
  defaultModel: string;
  schedule: string;
  notebookFolder: string;
  pollSeconds: number;
}

/** A POSIX shell-style quote that Python's shlex.split turns back into `s`. */
export function shellQuote(s: string): string {
  return "'" + s.replace(/'/g, `'"'"'`) + "'";
}

/** Why a path cannot go into a one-line magic, or null. */
function unsafeName(path: string): string | null {
  // A line break would end the magic's line and start a line of Python.
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f\u2028\u2029]/.test(path)
    ? 'its name contains a line break or another control character; rename it first'
    : null;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function textBody(...lines: string[]): Widget {
  const node = el('div', undefined, 'aisw-lab-dialog');
  for (const line of lines) node.appendChild(el('p', line));
  return new Widget({ node });
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'aisearch-widgets', path);
  const response = await ServerConnection.makeRequest(url, init, settings);
  let data: any = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.message) || `${response.status} ${response.statusText}`);
  }
  return data as T;
}

function query(params: Record<string, string>): string {
  const q = new URLSearchParams(params).toString();
  return q ? `?${q}` : '';
}

function fmt(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en-US');
}

/** The text of the status bar item for these projects. */
export function statusText(rows: IProjectRow[]): string {
  const indexing = rows.filter(r => r.state === 'indexing');
  if (indexing.length) {
    const done = indexing.reduce((a, r) => a + (r.done ?? 0) + (r.failed ?? 0), 0);
    const total = indexing.reduce((a, r) => a + (r.total ?? 0), 0);
    // The time left is that of the sync that ends last.
    const last = indexing.reduce<IProjectRow | null>(
      (a, r) => ((r.eta ?? -1) > (a?.eta ?? -1) ? r : a),
      null
    );
    const left = last?.eta_text ? ` · ${last.eta_text}` : '';
    return `AI Search: indexing ${fmt(done)} / ${fmt(total)}${left}`;
  }
  const ready = rows.filter(r => r.state === 'ready').length;
  return `AI Search: ${ready} project${ready === 1 ? '' : 's'} ready`;
}


/** A model the server offers for new projects. */
export interface IModelRow {
  id: string;
  installed: boolean;
  projects: number;
  dim: number | null;
}

/** What enabling a folder would take (GET /aisearch-widgets/estimate). */
export interface IEstimate {
  folder: string;
  model: string;
  images: number;
  videos: number;
  bytes: number;
  complete: boolean;
  rate: number | null;
  rate_from: string | null;
  seconds: number | null;
  disk_bytes: number;
  /** The text to show, one line each (images found, time, disk): the server's, as
   * the notebook's enable prompt says it. */
  lines: string[];
}

/** The models of the dropdown: the setting's default first (even if the server does
 * not know it), then the server's default, then the rest in the server's order. */
export function modelChoices(setting: string, serverDefault: string, rows: IModelRow[]): IModelRow[] {
  const out: IModelRow[] = [];
  const add = (id: string) => {
    if (!id || out.some(m => m.id === id)) return;
    out.push(rows.find(m => m.id === id) ?? { id, installed: false, projects: 0, dim: null });
  };
  add(setting.trim());
  add(serverDefault);
  for (const m of rows) add(m.id);
  return out;
}

function modelLabel(m: IModelRow): string {
  const notes: string[] = [];
  if (m.projects) notes.push(`used by ${m.projects} project${m.projects === 1 ? '' : 's'}`);
  else if (m.installed) notes.push('installed');
  else notes.push('downloaded on first use');
  return `${m.id} (${notes.join(', ')})`;
}

/** The body of the enable prompt: the folder, a model dropdown and the estimate,
 * asked again of the server whenever the model changes. Its value is the model. */
class EnableBody extends Widget implements Dialog.IBodyWidget<string> {
  readonly select: HTMLSelectElement;
  private readonly estimate: HTMLElement;
  private seq = 0;

  constructor(
    private readonly folder: string,
    models: IModelRow[]
  ) {
    super({ node: el('div', undefined, 'aisw-lab-dialog aisw-lab-enable') });
    this.node.appendChild(el('p', 'AI Search is not enabled for this folder: enable it?', 'aisw-lab-question'));
    const where = el('p', undefined, 'aisw-lab-where');
    where.appendChild(el('span', 'Folder: '));
    where.appendChild(el('code', folder || '(server root)'));
    this.node.appendChild(where);
    const label = el('label', 'Model', 'aisw-lab-field');
    this.select = el('select', undefined, 'aisw-lab-model jp-mod-styled');
    for (const m of models) {
      const opt = el('option', modelLabel(m));
      opt.value = m.id;
      this.select.appendChild(opt);
    }
    label.appendChild(this.select);
    this.node.appendChild(label);
    this.estimate = el('div', undefined, 'aisw-lab-estimate');
    this.estimate.setAttribute('aria-live', 'polite');
    this.node.appendChild(this.estimate);
    this.select.addEventListener('change', () => void this.refresh());
    void this.refresh();
  }

  getValue(): string {
    return this.select.value;
  }

  async refresh(): Promise<void> {
    const seq = ++this.seq;
    this.estimate.replaceChildren(el('p', 'Counting the images…', 'aisw-lab-counting'));
    this.estimate.dataset.state = 'counting';
    let lines: string[];
    try {
      const e = await api<IEstimate>('estimate' + query({ folder: this.folder, model: this.select.value }));
      lines = e.lines;
      this.estimate.dataset.state = 'done';
    } catch (reason) {
      lines = [`No estimate: ${(reason as Error).message || reason}`];
      this.estimate.dataset.state = 'error';
    }
    if (seq !== this.seq) return; // a newer model was picked meanwhile
    this.estimate.replaceChildren(...lines.map(line => el('p', line)));
  }
}

/** One row per project: name, folder (a button opening it), state, counts, last
 * update, and an Open button. Every string goes in as text. */
/** How long ago, for people: "just now", "5 min ago", "3 h ago", else the date. */
export function fmtAgo(when: Date, now: number = Date.now()): string {
  const s = (now - when.getTime()) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return when.toLocaleDateString();
}

function projectsTable(rows: IProjectRow[], open: (folder: string) => void): HTMLElement {
  if (!rows.length) {
    return el('p', 'No AI Search projects yet: pick a folder to start one.', 'aisw-lab-empty');
  }
  const table = el('table', undefined, 'aisw-lab-table');
  const head = el('tr');
  for (const h of ['Project', 'Folder', 'State', 'Embedded', 'Failed', 'Last update', '']) {
    head.appendChild(el('th', h));
  }
  table.appendChild(head);
  for (const r of rows) {
    const tr = el('tr');
    tr.dataset.project = r.name;
    tr.appendChild(el('td', r.name));
    const folderCell = el('td');
    const action = el('td');
    if (r.folder !== null) {
      const folder = r.folder;
      const link = el('button', folder || '(server root)', 'aisw-lab-link');
      link.title = 'Open the AI Search notebook of this folder';
      link.addEventListener('click', () => open(folder));
      folderCell.appendChild(link);
      const btn = el('button', 'Open', 'aisw-lab-open jp-mod-styled jp-mod-accept');
      btn.title = `Open the search panel of ${r.name}`;
      btn.addEventListener('click', () => open(folder));
      action.appendChild(btn);
    } else {
      folderCell.textContent = '(outside the server root)';
    }
    tr.appendChild(folderCell);
    const state = el('td', r.state, 'aisw-lab-state');
    state.dataset.state = r.state;
    tr.appendChild(state);
    tr.appendChild(el('td', `${fmt(r.done)} / ${fmt(r.total)}`, 'aisw-lab-num'));
    tr.appendChild(el('td', fmt(r.failed), 'aisw-lab-num'));
    const when = r.updated_at ? new Date(r.updated_at * 1000) : null;
    const updated = el('td', when ? fmtAgo(when) : 'never');
    if (when) updated.title = when.toLocaleString();
    tr.appendChild(updated);
    tr.appendChild(action);
    table.appendChild(tr);
  }
  return table;
}

/** A folder under the server root and its subfolders (GET /aisearch-widgets/folders). */
interface IFolderListing {
  path: string;
  folders: { name: string; path: string }[];
  truncated: boolean;
}

/** The AI Search home, opened by the launcher card: a folder picker (the folders under
 * the server root, one level at a time) and the list of projects. */
class HomePanel extends Widget {
  private readonly crumbs: HTMLElement;
  private readonly list: HTMLElement;
  private readonly projects: HTMLElement;
  private readonly openHere: HTMLButtonElement;
  private path = '';

  constructor(
    private readonly rows: () => IProjectRow[],
    private readonly open: (folder: string) => void
  ) {
    super({ node: el('div', undefined, 'aisw-lab-home') });
    this.id = 'aisearch-widgets-home';
    this.title.label = 'AI Search';
    this.title.icon = ICON;
    this.title.closable = true;
    const top = el('div', undefined, 'aisw-lab-home-inner');
    top.appendChild(el('h2', 'AI Search'));
    top.appendChild(
      el('p', 'Search a folder of images by text or by example. Pick a folder, or open one of your projects.', 'aisw-lab-lead')
    );
    const picker = el('section', undefined, 'aisw-lab-section aisw-lab-picker');
    picker.appendChild(el('h3', 'Open a folder'));
    this.crumbs = el('nav', undefined, 'aisw-lab-crumbs');
    this.crumbs.setAttribute('aria-label', 'Folder');
    picker.appendChild(this.crumbs);
    this.list = el('ul', undefined, 'aisw-lab-folders');
    picker.appendChild(this.list);
    this.openHere = el('button', 'Search this folder', 'aisw-lab-open-here jp-mod-styled jp-mod-accept');
    this.openHere.addEventListener('click', () => this.open(this.path));
    picker.appendChild(this.openHere);
    const projects = el('section', undefined, 'aisw-lab-section aisw-lab-projects');
    projects.appendChild(el('h3', 'Projects'));
    this.projects = el('div');
    projects.appendChild(this.projects);
    top.appendChild(projects);
    top.appendChild(picker);
    this.node.appendChild(top);
    this.update();
    void this.go('');
  }

  /** Show the subfolders of `path`. */
  async go(path: string): Promise<void> {
    let listing: IFolderListing;
    try {
      listing = await api<IFolderListing>('folders' + query({ path }));
    } catch (reason) {
      this.list.replaceChildren(el('li', `Cannot list this folder: ${(reason as Error).message || reason}`, 'aisw-lab-error'));
      return;
    }
    this.path = listing.path;
    this.crumbs.replaceChildren();
    const parts = listing.path ? listing.path.split('/') : [];
    const crumb = (label: string, to: string, current: boolean) => {
      const b = el('button', label, 'aisw-lab-crumb');
      if (current) b.setAttribute('aria-current', 'location');
      b.addEventListener('click', () => void this.go(to));
      this.crumbs.appendChild(b);
    };
    crumb('Server root', '', !parts.length);
    parts.forEach((part, i) => {
      this.crumbs.appendChild(el('span', '/', 'aisw-lab-sep'));
      crumb(part, parts.slice(0, i + 1).join('/'), i === parts.length - 1);
    });
    this.openHere.textContent = `Search ${parts.length ? `“${parts[parts.length - 1]}”` : 'the server root'}`;
    this.list.replaceChildren();
    if (!listing.folders.length) this.list.appendChild(el('li', 'No subfolders.', 'aisw-lab-empty'));
    for (const f of listing.folders) {
      const li = el('li', undefined, 'aisw-lab-folder');
      li.dataset.path = f.path;
      const name = el('button', undefined, 'aisw-lab-folder-name');
      name.appendChild(folderIcon.element({ tag: 'span', className: 'aisw-lab-folder-icon' }));
      name.appendChild(el('span', f.name, 'aisw-lab-folder-label'));
      name.title = `Show the folders in ${f.name}`;
      name.addEventListener('click', () => void this.go(f.path));
      li.appendChild(name);
      const row = this.rows().find(r => r.folder === f.path);
      if (row) {
        const badge = el('span', row.state, 'aisw-lab-badge');
        badge.dataset.state = row.state;
        badge.title = `Project ${row.name}: ${fmt(row.done)} / ${fmt(row.total)} embedded`;
        li.appendChild(badge);
      }
      const open = el('button', row ? 'Open' : 'Search…', 'aisw-lab-folder-open jp-mod-styled');
      open.title = row ? `Open the search panel of ${f.name}` : `Enable AI Search for ${f.name}`;
      open.addEventListener('click', () => this.open(f.path));
      li.appendChild(open);
      this.list.appendChild(li);
    }
    if (listing.truncated) this.list.appendChild(el('li', 'More folders are not shown.', 'aisw-lab-empty'));
  }

  /** Show the projects as they are now (called after every status poll). */
  update(): void {
    this.projects.replaceChildren(projectsTable(this.rows(), this.open));
  }
}

/** The status bar's project list: a panel above the status bar that leaves the rest
 * of the page usable (no backdrop); closed by its button, Esc, or the item again. */
class StatusPanel extends Widget {
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly closeButton: HTMLButtonElement;

  constructor(
    private readonly rows: () => IProjectRow[],
    private readonly open: (folder: string) => void,
    private readonly home: () => void
  ) {
    super({ node: el('div', undefined, 'aisw-lab-popup aisw-lab-status-list') });
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-modal', 'false');
    this.node.setAttribute('aria-label', 'AI Search projects');
    const bar = el('div', undefined, 'aisw-lab-popup-bar');
    this.heading = el('span', 'AI Search', 'aisw-lab-popup-title');
    bar.appendChild(this.heading);
    const homeBtn = el('button', 'AI Search home', 'aisw-lab-link');
    homeBtn.addEventListener('click', () => this.home());
    bar.appendChild(homeBtn);
    const close = el('button', '×', 'aisw-lab-popup-close');
    close.title = 'Close';
    close.setAttribute('aria-label', 'Close');
    close.addEventListener('click', () => this.hide());
    bar.appendChild(close);
    this.closeButton = close;
    this.node.appendChild(bar);
    this.body = el('div', undefined, 'aisw-lab-popup-body');
    this.node.appendChild(this.body);
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Escape') this.hide();
    });
    this.hide();
  }

  get shown(): boolean {
    return this.isAttached && !this.isHidden;
  }

  toggle(): void {
    if (this.shown) this.hide();
    else {
      if (!this.isAttached) Widget.attach(this, document.body);
      this.update();
      this.show();
      this.closeButton.focus(); // Esc closes it from the keyboard too
    }
  }

  update(): void {
    const rows = this.rows();
    this.heading.textContent = statusText(rows);
    this.body.replaceChildren(
      projectsTable(rows, folder => {
        this.hide();
        this.open(folder);
      })
    );
  }
}

class StatusItem extends Widget {
  constructor(onClick: () => void) {
    super({ node: el('span', 'AI Search', 'aisw-lab-status') });
    this.node.title = 'AI Search projects: click for the list';
    this.node.addEventListener('click', onClick);
  }
  set text(value: string) {
    this.node.textContent = value;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'AI Search from the file browser, launcher, palette and status bar.',
  autoStart: true,
  requires: [IFileBrowserFactory],
  optional: [ISettingRegistry, ICommandPalette, ILauncher, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    factory: IFileBrowserFactory,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    statusBar: IStatusBar | null
  ) => {
    const { commands, serviceManager } = app;
    const settings: ISettings = {
      defaultModel: '',
      schedule: '10m',
      notebookFolder: '',
      pollSeconds: 5
    };
    let rows: IProjectRow[] = [];
    let timer: number | undefined;
    let home: HomePanel | null = null;
    const statusPanel = new StatusPanel(
      () => rows,
      folder => void openFolder(folder),
      () => void showHome()
    );
    const statusItem = new StatusItem(() => {
      statusPanel.toggle();
      void refresh();
    });

    if (registry) {
      registry
        .load(PLUGIN_ID)
        .then(s => {
          const read = () => {
            Object.assign(settings, s.composite as unknown as ISettings);
          };
          read();
          s.changed.connect(read);
        })
        .catch(reason => console.warn('aisearch-widgets: settings not loaded', reason));
    }

    // -- status -------------------------------------------------------------------
    async function refresh(): Promise<void> {
      try {
        rows = (await api<{ projects: IProjectRow[] }>('status')).projects;
        statusItem.text = statusText(rows);
        statusItem.node.dataset.state = rows.some(r => r.state === 'indexing')
          ? 'indexing'
          : 'ready';
      } catch (reason) {
        statusItem.text = 'AI Search: server extension not answering';
        statusItem.node.dataset.state = 'error';
      }
      if (statusPanel.shown) statusPanel.update();
      if (home && !home.isDisposed) home.update();
    }
    function schedule(): void {
      window.clearTimeout(timer);
      const seconds = Math.max(1, settings.pollSeconds || 5) * (document.hidden ? 6 : 1);
      timer = window.setTimeout(async () => {
        await refresh();
        schedule();
      }, seconds * 1000);
    }
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) void refresh();
      schedule();
    });
    void refresh().then(schedule);

    function projectOf(path: string): IProjectRow | undefined {
      return rows.find(r => r.folder !== null && r.folder === path);
    }

    // -- selection ------------------------------------------------------------------
    function selection(): { path: string; type: string }[] {
      const browser = factory.tracker.currentWidget;
      if (!browser) return [];
      return Array.from(browser.selectedItems()).map(i => ({ path: i.path, type: i.type }));
    }
    function selectedFolder(): string | null {
      const items = selection();
      return items.length === 1 && items[0].type === 'directory' ? items[0].path : null;
    }
    function selectedImages(): string[] {
      const items = selection();
      const images = items.filter(
        i => i.type !== 'directory' && IMAGE_EXT.has(PathExt.extname(i.path).toLowerCase())
      );
      return images.length && images.length === items.length ? images.map(i => i.path) : [];
    }

    // -- enabling ---------------------------------------------------------------------
    /** Ask before enabling `folder`: the model (a dropdown) and the estimate. The model
     * chosen, or null when the user cancels. */
    async function askEnable(folder: string): Promise<string | null> {
      let offered: IModelRow[] = [];
      let serverDefault = '';
      try {
        const answer = await api<{ default: string; models: IModelRow[] }>('models');
        offered = answer.models;
        serverDefault = answer.default;
      } catch (reason) {
        console.warn('aisearch-widgets: no list of models', reason);
      }
      const body = new EnableBody(folder, modelChoices(settings.defaultModel, serverDefault, offered));
      const result = await showDialog({
        title: `AI Search: ${PathExt.basename(folder) || 'server root'}`,
        body,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Enable AI search' })],
        focusNodeSelector: 'select'
      });
      return result.button.accept ? result.value : null;
    }

    /** Open the search panel of `folder`, asking first when it has no project. */
    async function openFolder(folder: string): Promise<void> {
      await refresh();
      let model: string | null = null;
      if (!projectOf(folder)) {
        model = await askEnable(folder);
        if (model === null) return;
      }
      await openFor([folder], PathExt.basename(folder) || 'root', model);
    }

    async function showHome(): Promise<void> {
      if (!home || home.isDisposed) {
        const content = new HomePanel(() => rows, folder => void openFolder(folder));
        home = content;
        const main = new MainAreaWidget({ content });
        main.id = 'aisearch-widgets-home-area';
        main.title.label = 'AI Search';
        main.title.icon = ICON;
        main.title.closable = true;
        app.shell.add(main, 'main');
        content.disposed.connect(() => {
          if (home === content) home = null;
        });
      }
      const area = home.parent;
      if (area) app.shell.activateById(area.id);
      await refresh();
    }

    /** The notebook's only cell: load the extension, open the panel of `targets`.
     * `enable`: the model the user chose in the enable prompt (the cell enables). */
    function cellSource(where: string, targets: string[], enable: string | null): string {
      // The kernel runs in the notebook's folder: name the targets from there.
      const rel = targets.map(t => shellQuote(PathExt.relative(where || '', t) || '.'));
      let magic = `%aisearch ${rel.join(' ')}`;
      const model = enable ?? settings.defaultModel.trim();
      if (model) magic += ` --model ${shellQuote(model)}`;
      if (settings.schedule.trim()) magic += ` --schedule ${shellQuote(settings.schedule.trim())}`;
      if (enable !== null) magic += ' --enable';
      return `%load_ext aisearch_widgets\n${magic}`;
    }

    // -- the notebook ---------------------------------------------------------------
    async function openFor(targets: string[], title: string, enable: string | null = null): Promise<void> {
      for (const t of targets) {
        const why = unsafeName(t);
        if (why) {
          await showDialog({
            title: 'AI Search cannot open this',
            body: textBody(t, `AI Search cannot open it: ${why}.`),
            buttons: [Dialog.okButton()]
          });
          return;
        }
      }
      const where = settings.notebookFolder.trim()
        ? settings.notebookFolder.trim().replace(/^\/+|\/+$/g, '')
        : PathExt.dirname(targets[0]);
      const nbName = `AI Search - ${title}.ipynb`;
      const nbPath = where ? PathExt.join(where, nbName) : nbName;
      const contents = serviceManager.contents;
      // Listing the folder, not asking for the file: a 404 would be logged as an error.
      const listing = await contents.get(where, { content: true });
      const exists = (listing.content as { name: string }[]).some(m => m.name === nbName);
      const source = cellSource(where, targets, enable);
      if (exists && enable !== null) {
        // Enabling from the prompt: the plugin's own notebook gets the new cell (one
        // written by hand is left as it is, and asks in the notebook instead).
        const nb = await contents.get(nbPath, { content: true });
        const cells = (nb.content as { cells?: { source: string | string[] }[] }).cells ?? [];
        const first = cells.length ? cells[0].source : '';
        const text = Array.isArray(first) ? first.join('') : first;
        if (cells.length === 1 && text.startsWith('%load_ext aisearch_widgets\n%aisearch ')) {
          cells[0].source = source;
          await contents.save(nbPath, { type: 'notebook', format: 'json', content: nb.content });
        }
      }
      if (!exists) {
        await contents.save(nbPath, {
          type: 'notebook',
          format: 'json',
          content: {
            nbformat: 4,
            nbformat_minor: 5,
            metadata: {
              kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
              language_info: { name: 'python' }
            },
            cells: [
              {
                cell_type: 'code',
                id: 'aisearch',
                metadata: {},
                execution_count: null,
                outputs: [],
                source
              }
            ]
          }
        });
      }
      // A new panel runs through the autorun plugin; one open already (AI Search… chosen
      // again) is run here. Notebook 7 opens it in another tab, whose autorun runs it.
      requestRun(nbPath);
      const widget: any = await commands.execute('docmanager:open', {
        path: nbPath,
        factory: 'Notebook'
      });
      if (!(widget instanceof NotebookPanel)) return;
      app.shell.activateById(widget.id);
      await runIfRequested(widget);
    }

    async function act(action: 'enable' | 'disable' | 'update', folder: string): Promise<void> {
      try {
        const body: any = { action, folder };
        if (action === 'enable' && settings.defaultModel.trim()) body.model = settings.defaultModel.trim();
        if (action === 'enable' && settings.schedule.trim()) body.schedule = settings.schedule.trim();
        await api('action', { method: 'POST', body: JSON.stringify(body) });
      } catch (reason) {
        await showDialog({
          title: 'AI Search',
          body: textBody(folder, String((reason as Error).message || reason)),
          buttons: [Dialog.okButton()]
        });
      }
      await refresh();
    }

    // -- commands -------------------------------------------------------------------
    commands.addCommand('aisearch:open-selected', {
      label: 'AI Search…',
      caption: 'Search these images by text or example (opens a notebook with the search panel)',
      icon: ICON,
      isVisible: () => selectedFolder() !== null || selectedImages().length > 0,
      execute: async () => {
        const folder = selectedFolder();
        if (folder !== null) return openFolder(folder);
        const images = selectedImages();
        if (!images.length) return;
        const first = PathExt.basename(images[0]);
        const title = images.length === 1 ? first : `${first} and ${images.length - 1} more`;
        return openFor(images, title);
      }
    });
    commands.addCommand('aisearch:disable', {
      label: 'Disable AI Search',
      caption: 'Stop updating this folder (its embeddings are kept)',
      isVisible: () => {
        const f = selectedFolder();
        return f !== null && !!projectOf(f) && projectOf(f)!.state !== 'disabled';
      },
      execute: async () => {
        const f = selectedFolder();
        if (f !== null) await act('disable', f);
      }
    });
    commands.addCommand('aisearch:update', {
      label: 'Update now',
      caption: 'Embed new and changed images of this folder now',
      isVisible: () => {
        const f = selectedFolder();
        return f !== null && !!projectOf(f);
      },
      execute: async () => {
        const f = selectedFolder();
        if (f !== null) await act('update', f);
      }
    });
    commands.addCommand('aisearch:open-folder', {
      label: args => (args.isPalette ? 'AI Search: open a folder…' : 'AI Search'),
      caption: 'Pick a folder of images to search, or open one of your AI Search projects',
      icon: args => (args.isPalette ? undefined : ICON),
      execute: () => showHome()
    });
    commands.addCommand('aisearch:show-status', {
      label: 'AI Search: show the projects',
      execute: () => {
        statusPanel.toggle();
        void refresh();
      }
    });

    // File browser context menu: folders, and image files.
    app.contextMenu.addItem({
      command: 'aisearch:open-selected',
      selector: '.jp-DirListing-item[data-isdir="true"]',
      rank: 1
    });
    app.contextMenu.addItem({
      command: 'aisearch:open-selected',
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 1
    });
    app.contextMenu.addItem({
      command: 'aisearch:update',
      selector: '.jp-DirListing-item[data-isdir="true"]',
      rank: 2
    });
    app.contextMenu.addItem({
      command: 'aisearch:disable',
      selector: '.jp-DirListing-item[data-isdir="true"]',
      rank: 3
    });
    // Right-clicking asks the server again, so the menu is at most one poll old.
    document.addEventListener(
      'contextmenu',
      event => {
        const t = event.target as HTMLElement | null;
        if (t && t.closest && t.closest('.jp-DirListing')) void refresh();
      },
      true
    );

    if (palette) {
      palette.addItem({ command: 'aisearch:open-folder', category: CATEGORY, args: { isPalette: true } });
      palette.addItem({ command: 'aisearch:show-status', category: CATEGORY });
    }
    if (launcher) {
      launcher.add({ command: 'aisearch:open-folder', category: 'Other', rank: 1 });
    }
    if (statusBar) {
      statusBar.registerStatusItem('aisearch-widgets:status', {
        item: statusItem,
        align: 'left',
        rank: 5
      });
    }
  }
};

/** Runs a notebook that "AI Search…" asked to run, in whichever page shows it. */
const autorun: JupyterFrontEndPlugin<void> = {
  id: 'aisearch-widgets:autorun',
  description: 'Runs the notebook opened by "AI Search…" (JupyterLab and Notebook 7).',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    tracker.widgetAdded.connect((_, panel) => void runIfRequested(panel));
  }
};

export default [plugin, autorun];
