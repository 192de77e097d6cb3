import type { IncomingMessage } from "node:http";
import { HttpError } from "./router.js";

/** GitHub caps webhook payloads at 25 MB; nothing larger is a delivery. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/** Refuses a declared Content-Length over the cap before a byte of the body is read. */
export function checkDeclaredLength(req: IncomingMessage, maxBytes: number): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && (!/^\d+$/.test(declared) || Number(declared) > maxBytes)) {
    throw new HttpError(413, `request body over ${maxBytes} bytes`, true);
  }
}

/** Reads the body, counting bytes as they come: past the cap, reading stops and the answer is 413. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  checkDeclaredLength(req, maxBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.pause();
        chunks.length = 0;
        reject(new HttpError(413, `request body over ${maxBytes} bytes`, true));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", (err) => reject(new HttpError(400, `request body could not be read: ${err.message}`, true)));
    req.once("aborted", () => reject(new HttpError(400, "request aborted", true)));
  });
}
