// What reaches the person when the tab is not looked at: a system notification (the Web
// Notifications API, raised by the one warner tab while the page is hidden) and an optional short
// beep (WebAudio, no asset). The panel asks for the permission, once, with its reason.

const ASKED_KEY = 'jupyter-lease:notifications-asked';
const BEEP_HZ = 880;
const BEEP_S = 0.25;

/** A system notification for `body`, where allowed; a click brings the tab to the front. */
export function systemNotification(title: string, body: string, tag: string): void {
  if (typeof window.Notification === 'undefined') return;
  if (window.Notification.permission !== 'granted') return;
  try {
    const shown = new window.Notification(title, { body, tag });
    shown.onclick = () => {
      window.focus();
      shown.close();
    };
  } catch {
    /* some browsers allow notifications only from a service worker */
  }
}

/** A short beep; nothing where the page may not play sound yet (no gesture) or has no audio. */
export function beep(): void {
  try {
    const Context =
      window.AudioContext ??
      (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Context) return;
    const audio = new Context();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = BEEP_HZ;
    gain.gain.value = 0.1;
    tone.connect(gain).connect(audio.destination);
    tone.onended = () => void audio.close();
    tone.start();
    tone.stop(audio.currentTime + BEEP_S);
  } catch {
    /* no audio here */
  }
}

/** Whether the panel should ask: the browser can, nobody decided yet, we never asked. */
export function shouldAsk(): boolean {
  if (typeof window.Notification === 'undefined') return false;
  if (window.Notification.permission !== 'default') return false;
  try {
    return localStorage.getItem(ASKED_KEY) === null;
  } catch {
    return true;
  }
}

/** Ask (from a click: browsers allow the prompt only then); never asks twice. */
export async function askPermission(): Promise<void> {
  try {
    localStorage.setItem(ASKED_KEY, String(Date.now()));
  } catch {
    /* no storage: the browser's own answer still stops the asking */
  }
  try {
    await window.Notification.requestPermission();
  } catch {
    /* refused or unsupported */
  }
}
