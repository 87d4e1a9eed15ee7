/**
 * The name N of an ImGroupCluster becomes part of every object name: Services `N-gate`, `N-logic`,
 * `N-redis` (DNS-1035 labels: start with a letter, at most 63 characters), pods `N-redis-<i>`, and
 * the StatefulSet revision label `N-logic-<hash>` (a label value, at most 63 characters, the hash
 * up to 10). A name of at most 40 characters leaves room for all of them.
 */
import type { CelRule } from './schema-builder.js';

export const MAX_CLUSTER_NAME_LENGTH = 40;
export const CLUSTER_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

const NAME = new RegExp(CLUSTER_NAME_PATTERN);

/** The root of the custom resource as the root-level CEL rules see it. */
export interface NamedObject {
  metadata: { name: string };
}

/**
 * Root-level CEL rules of the CRD (they may read `self.metadata.name`). No `fieldPath`: the CRD's
 * schema of `metadata` has no properties for it to point at; the messages name the field instead.
 */
export const CLUSTER_NAME_RULES: readonly CelRule<NamedObject>[] = [
  {
    rule: `self.metadata.name.size() <= ${MAX_CLUSTER_NAME_LENGTH}`,
    message: `metadata.name must be at most ${MAX_CLUSTER_NAME_LENGTH} characters: it is the prefix of the Services, StatefulSets and pods of the cluster`,
    check: (self) => self.metadata.name.length <= MAX_CLUSTER_NAME_LENGTH,
  },
  {
    rule: `self.metadata.name.matches('${CLUSTER_NAME_PATTERN}')`,
    message: 'metadata.name must start with a lower-case letter and contain only lower-case letters, digits and "-" (it names Services, which are DNS-1035 labels)',
    check: (self) => NAME.test(self.metadata.name),
  },
];
