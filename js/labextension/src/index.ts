// JupyterLab plugin of aisearch_widgets: "AI Search…" on folders (and image files) in
// the file browser, Disable / Update now on folders that have a project, a launcher
// card, command palette entries and a status bar item. The server side is
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
  InputDialog,
  showDialog
} from '@jupyterlab/apputils';
import { PathExt, URLExt } from '@jupyterlab/coreutils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
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

function fmt(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en-US');
}

/** The text of the status bar item for these projects. */
export function statusText(rows: IProjectRow[]): string {
  const indexing = rows.filter(r => r.state === 'indexing');
  if (indexing.length) {
    const done = indexing.reduce((a, r) => a + (r.done ?? 0) + (r.failed ?? 0), 0);
    const total = indexing.reduce((a, r) => a + (r.total ?? 0), 0);
    return `AI Search: indexing ${fmt(done)} / ${fmt(total)}`;
  }
  const ready = rows.filter(r => r.state === 'ready').length;
  return `AI Search: ${ready} project${ready === 1 ? '' : 's'} ready`;
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
    const statusItem = new StatusItem(() => void showStatusList());

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

    // -- the notebook ---------------------------------------------------------------
    async function openFor(targets: string[], title: string): Promise<void> {
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
      if (!exists) {
        // The kernel runs in the notebook's folder: name the targets from there.
        const rel = targets.map(t => shellQuote(PathExt.relative(where || '', t) || '.'));
        let magic = `%aisearch ${rel.join(' ')}`;
        if (settings.defaultModel.trim()) magic += ` --model ${shellQuote(settings.defaultModel.trim())}`;
        if (settings.schedule.trim()) magic += ` --schedule ${shellQuote(settings.schedule.trim())}`;
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
                source: `%load_ext aisearch_widgets\n${magic}`
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

    // -- status list ----------------------------------------------------------------
    async function showStatusList(): Promise<void> {
      await refresh();
      const table = el('table', undefined, 'aisw-lab-table');
      const head = el('tr');
      for (const h of ['Project', 'Folder', 'State', 'Embedded', 'Failed', 'Last update']) {
        head.appendChild(el('th', h));
      }
      table.appendChild(head);
      let dialog: Dialog<unknown> | null = null;
      for (const r of rows) {
        const tr = el('tr');
        tr.dataset.project = r.name;
        tr.appendChild(el('td', r.name));
        const folderCell = el('td');
        if (r.folder !== null) {
          const link = el('button', r.folder || '(server root)', 'aisw-lab-link');
          link.title = 'Open the AI Search notebook of this folder';
          const folder = r.folder;
          link.addEventListener('click', () => {
            if (dialog) dialog.resolve();
            void openFor([folder], PathExt.basename(folder) || 'root');
          });
          folderCell.appendChild(link);
        } else {
          folderCell.textContent = '(outside the server root)';
        }
        tr.appendChild(folderCell);
        tr.appendChild(el('td', r.state));
        tr.appendChild(el('td', `${fmt(r.done)} / ${fmt(r.total)}`, 'aisw-lab-num'));
        tr.appendChild(el('td', fmt(r.failed), 'aisw-lab-num'));
        tr.appendChild(
          el('td', r.updated_at ? new Date(r.updated_at * 1000).toLocaleString() : 'never')
        );
        table.appendChild(tr);
      }
      const node = el('div', undefined, 'aisw-lab-dialog aisw-lab-status-list');
      node.appendChild(rows.length ? table : el('p', 'No AI Search projects yet.'));
      dialog = new Dialog({
        title: statusText(rows),
        body: new Widget({ node }),
        buttons: [Dialog.okButton({ label: 'Close' })]
      });
      await dialog.launch();
    }

    // -- commands -------------------------------------------------------------------
    commands.addCommand('aisearch:open-selected', {
      label: 'AI Search…',
      caption: 'Search these images by text or example (opens a notebook with the search panel)',
      icon: ICON,
      isVisible: () => selectedFolder() !== null || selectedImages().length > 0,
      execute: async () => {
        const folder = selectedFolder();
        if (folder !== null) return openFor([folder], PathExt.basename(folder) || 'root');
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
      caption: 'Open the AI Search panel for a folder of images',
      icon: args => (args.isPalette ? undefined : ICON),
      execute: async () => {
        const browser = factory.tracker.currentWidget;
        const current = selectedFolder() ?? (browser ? browser.model.path : '');
        const result = await InputDialog.getText({
          title: 'AI Search: open a folder',
          label: 'Folder (relative to the server root)',
          text: current
        });
        if (!result.button.accept || result.value === null) return;
        const folder = result.value.trim().replace(/^\/+|\/+$/g, '');
        try {
          const model = await serviceManager.contents.get(folder, { content: false });
          if (model.type !== 'directory') throw new Error('not a folder');
        } catch {
          await showDialog({
            title: 'AI Search',
            body: textBody(folder, 'This is not a folder under the server root.'),
            buttons: [Dialog.okButton()]
          });
          return;
        }
        await openFor([folder], PathExt.basename(folder) || 'root');
      }
    });
    commands.addCommand('aisearch:show-status', {
      label: 'AI Search: show the projects',
      execute: () => showStatusList()
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
