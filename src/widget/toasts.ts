// `@jupyterlab/apputils`'s Notification where no JupyterLab 4 runs: the cell widget's bundle
// aliases that import here (package.json, build:widget), so the lab extension's Warner
// (warnings.ts) warns for the widget's page too, without JupyterLab's toasts. The warning shows
// in the widgets' banners, the tab title and a system notification (the Warner's own); a toast
// is only remembered, so that a page can tell what would have shown.

export interface IAction {
  label: string;
  caption?: string;
  displayType?: string;
  callback: () => void;
}

interface Shown {
  id: string;
  message: string;
  type: string;
}

const shown = new Map<string, Shown>();
let next = 0;

function emit(message: string, type = 'default', _options?: unknown): string {
  const id = `jupyter-lease-toast-${++next}`;
  shown.set(id, { id, message, type });
  return id;
}

export const Notification = {
  emit,
  update(args: { id: string; message?: string; type?: string }): boolean {
    const toast = shown.get(args.id);
    if (!toast) return false;
    if (args.message !== undefined) toast.message = args.message;
    if (args.type !== undefined) toast.type = args.type;
    return true;
  },
  dismiss(id?: string): void {
    if (id === undefined) shown.clear();
    else shown.delete(id);
  },
  error: (message: string, options?: unknown) => emit(message, 'error', options),
  warning: (message: string, options?: unknown) => emit(message, 'warning', options),
  info: (message: string, options?: unknown) => emit(message, 'info', options),
  success: (message: string, options?: unknown) => emit(message, 'success', options),
  /** The toasts a JupyterLab would show now (for tests and the curious). */
  shown: (): Shown[] => [...shown.values()]
};
