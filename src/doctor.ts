// The doctor report (`GET …/jupyter-lease/api/doctor`, the server's `jupyter lease doctor
// --json`) in a JupyterLab dialog: one table per section. Text through textContent only.

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { failureOf, request } from './api';
import { element } from './dom';

const PATH = 'jupyter-lease/api/doctor';
const TIMEOUT_MS = 60_000; // discovery and credentials may each wait for a slow service
const COLUMNS = ['setting', 'value', 'source', 'status', 'hint'] as const;

type Row = Record<(typeof COLUMNS)[number], string>;
interface Report {
  ok: boolean;
  sections: { title: string; rows: Row[] }[];
  unconfirmed: string[];
}

/** Read the report and show it; a failure is one line in the same dialog. */
export async function showDoctor(): Promise<void> {
  const raw = await request(PATH, { method: 'GET' }, TIMEOUT_MS);
  const body = new Widget();
  body.addClass('jp-LeaseDoctor');
  if (!raw.ok || raw.status !== 200) {
    const error = raw.ok ? failureOf(raw.status, raw.body).error : raw.error;
    body.node.append(element('div', 'jp-LeaseDoctor-error', `⚠ ${error}`));
  } else {
    fill(body.node, raw.body as Report);
  }
  await showDialog({
    title: 'jupyter_lease doctor (the Jupyter server)',
    body,
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}

function fill(node: HTMLElement, report: Report): void {
  const verdict = report.ok ? 'ready' : 'NOT READY';
  node.append(element('div', 'jp-LeaseDoctor-verdict', `jupyter_lease doctor: ${verdict}`));
  for (const section of report.sections ?? []) {
    node.append(element('h3', 'jp-LeaseDoctor-title', String(section.title)));
    const table = element('table', 'jp-LeaseDoctor-table');
    const head = element('tr', '');
    head.append(...COLUMNS.map(c => element('th', '', c)));
    table.append(head);
    for (const row of section.rows ?? []) {
      const tr = element('tr', '');
      tr.dataset.status = String(row.status);
      tr.append(...COLUMNS.map(c => element('td', '', String(row[c] ?? ''))));
      table.append(tr);
    }
    node.append(table);
  }
  if (report.unconfirmed?.length) {
    node.append(element('h3', 'jp-LeaseDoctor-title', 'Unconfirmed'));
    const list = element('ul', 'jp-LeaseDoctor-unconfirmed');
    list.append(...report.unconfirmed.map(fact => element('li', '', String(fact))));
    node.append(list);
  }
}
