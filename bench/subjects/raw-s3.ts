// Baseline: raw @aws-sdk/client-s3 with one object per file (key = prefix + path), the layout most
// S3-backed filesystems use and the one @mastra/s3 uses too (so the two baselines share seeded
// objects). Each method is the fewest requests plain S3 needs for the operation.

import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { mapLimited } from "../measure.ts";

export class RawS3Files {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** Key prefix without a trailing slash. */
    readonly prefix: string,
  ) {}

  key(path: string): string {
    return `${this.prefix}/${path.replace(/^\/+/, "")}`;
  }

  /** One PutObject. */
  async write(path: string, body: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(path), Body: body }));
  }

  /** One GetObject. */
  async read(path: string): Promise<Uint8Array> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
    return (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
  }

  /** One HeadObject: the size, or undefined if there is no such object. */
  async stat(path: string): Promise<number | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return response.ContentLength ?? 0;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  /** ListObjectsV2 with a delimiter, page after page: the names in one directory. */
  async readdir(path: string): Promise<string[]> {
    const prefix = `${this.key(path).replace(/\/+$/, "")}/`;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: "/", ContinuationToken: token }));
      for (const entry of page.Contents ?? []) names.push(entry.Key!.slice(prefix.length));
      for (const entry of page.CommonPrefixes ?? []) names.push(entry.Prefix!.slice(prefix.length).replace(/\/$/, ""));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return names;
  }

  /** ListObjectsV2 without a delimiter, page after page (1,000 keys a page): every file below `path`. */
  async listAll(path: string): Promise<{ path: string; size: number }[]> {
    const prefix = `${this.key(path).replace(/\/+$/, "")}/`;
    const files: { path: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const entry of page.Contents ?? []) files.push({ path: entry.Key!.slice(prefix.length), size: entry.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return files;
  }

  /** A multipart upload with `partBytes` parts, `concurrency` in flight. */
  async writeParallel(path: string, body: Uint8Array, partBytes: number, concurrency: number): Promise<void> {
    const key = this.key(path);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
    const offsets: number[] = [];
    for (let offset = 0; offset < body.byteLength; offset += partBytes) offsets.push(offset);
    const parts = await mapLimited(offsets, concurrency, async (offset, index) => {
      const part = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: created.UploadId, PartNumber: index + 1, Body: body.subarray(offset, offset + partBytes) }),
      );
      return { ETag: part.ETag, PartNumber: index + 1 };
    });
    await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: created.UploadId, MultipartUpload: { Parts: parts } }));
  }

  /** Ranged GETs of `partBytes`, `concurrency` in flight, assembled in order. */
  async readParallel(path: string, size: number, partBytes: number, concurrency: number): Promise<Uint8Array> {
    const key = this.key(path);
    const out = new Uint8Array(size);
    const offsets: number[] = [];
    for (let offset = 0; offset < size; offset += partBytes) offsets.push(offset);
    await mapLimited(offsets, concurrency, async (offset) => {
      const end = Math.min(size, offset + partBytes) - 1;
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${offset}-${end}` }));
      out.set(await response.Body!.transformToByteArray(), offset);
    });
    return out;
  }
}
