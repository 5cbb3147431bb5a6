import { Type } from 'typebox';

/** The Prometheus text exposition format (sent as is, not as JSON). */
export const MetricsText = Type.String({ description: 'Prometheus text format 0.0.4' });
