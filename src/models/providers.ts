/**
 * Which execution providers are worth trying on this machine, decided before any session loads.
 *
 * On Linux, onnxruntime's WebGPU provider (Dawn) reaches a GPU only through the Vulkan loader,
 * libvulkan.so.1. Without it Dawn prints "Couldn't load Vulkan" straight to the process's stderr
 * (not through onnxruntime's logger, so no log level silences it) and then fails to find an
 * adapter. A CPU-only machine — the default configuration tries cuda, webgpu, cpu — would show
 * that warning at every start. So the loader is looked up first, the way Dawn looks it up
 * (dlopen by its soname, which searches LD_LIBRARY_PATH and the linker cache), and WebGPU is
 * skipped with a reason of our own when it is absent. Where the loader exists, WebGPU is tried
 * and onnxruntime's own answer is reported.
 */
import { platform } from 'node:os';
import type { ExecutionProviderName } from '../enums.js';

export interface ProviderAttemptNote {
  provider: string;
  error: string;
}

/**
 * Whether a shared library can be loaded by its soname. process.dlopen loads it and then fails
 * with "did not self-register" because it is not a Node addon (node unloads it again); a missing
 * library fails with the dynamic linker's "cannot open shared object file".
 */
export function sharedLibraryPresent(soname: string): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, soname);
    return true;
  } catch (e) {
    return !/cannot open shared object file|image not found|no such file/i.test((e as Error).message);
  }
}

export interface MachineProbe {
  platform: NodeJS.Platform;
  /** the Vulkan loader is installed (Linux) */
  vulkanLoader: () => boolean;
}

const thisMachine: MachineProbe = { platform: platform(), vulkanLoader: () => sharedLibraryPresent('libvulkan.so.1') };

/** The configured providers split into those to try and those skipped, with why. */
export function providersToTry(
  configured: readonly ExecutionProviderName[],
  probe: MachineProbe = thisMachine,
): { tryList: ExecutionProviderName[]; skipped: ProviderAttemptNote[] } {
  const tryList: ExecutionProviderName[] = [];
  const skipped: ProviderAttemptNote[] = [];
  for (const p of configured) {
    if (p === 'webgpu' && probe.platform === 'linux' && !probe.vulkanLoader())
      skipped.push({ provider: p, error: 'no Vulkan loader (libvulkan.so.1) on this machine, so no WebGPU adapter: WebGPU needs a GPU and its Vulkan driver' });
    else tryList.push(p);
  }
  // never leave nothing to try: the last configured provider decides (and reports) for itself
  if (!tryList.length && configured.length) tryList.push(configured[configured.length - 1]);
  return { tryList, skipped: skipped.filter((s) => !tryList.includes(s.provider as ExecutionProviderName)) };
}

/** Longest provider error kept, cut at a word boundary. */
const MAX_ERROR_CHARS = 1000;

/** One readable line of an onnxruntime error: the first line, whole words, at most MAX_ERROR_CHARS. */
export function providerErrorLine(message: string): string {
  const line = message.split('\n')[0].replace(/\s+/g, ' ').trim();
  if (line.length <= MAX_ERROR_CHARS) return line;
  const cut = line.slice(0, MAX_ERROR_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${space > MAX_ERROR_CHARS / 2 ? cut.slice(0, space) : cut}…`;
}
