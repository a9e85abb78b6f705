// The source's frame arena: every frame is zeroed, of the asked size and never shares bytes with
// another frame (ZeroMQ sends them without copying, so overlap would corrupt messages in flight).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameArena } from '../../src/bench/traffic.js';

test('small frames are zeroed, sized and disjoint, also across arena refills', () => {
  const arena = new FrameArena(1024);
  const frames = Array.from({ length: 600 }, () => arena.next()); // > 256 KiB: several arenas
  for (const [i, f] of frames.entries()) {
    assert.equal(f.length, 1024);
    assert.ok(
      f.every((b) => b === 0),
      `frame ${i} is zeroed`,
    );
    f.fill(i % 251); // written like the source writes its header
  }
  for (const [i, f] of frames.entries()) {
    assert.ok(
      f.every((b) => b === i % 251),
      `frame ${i} kept its own bytes`,
    );
  }
  assert.ok(frames[0].buffer === frames[1].buffer, 'small frames share an allocation');
});

test('frames of the arena size or more get their own allocation', () => {
  const arena = new FrameArena(1024 * 1024);
  const a = arena.next();
  const b = arena.next();
  assert.equal(a.length, 1024 * 1024);
  assert.notEqual(a.buffer, b.buffer);
});
