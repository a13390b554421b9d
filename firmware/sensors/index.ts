/**
 * Emulated thermal hardware: the board thermal model and I2C sensors (EMC2101 with fan and tach,
 * TMP1075 / TMP75 / LM75) on an emulated I2C bus that matches drivers/transport's I2cBus structurally.
 */
export { EmulatedEmc2101, type EmulatedEmc2101Options } from './emc2101.ts';
export { EmulatedI2cBus, type EmulatedI2cDevice, I2cNackError } from './i2c-bus.ts';
export { ThermalModel, type ThermalModelOptions } from './thermal-model.ts';
export { EmulatedTmp1075, type EmulatedTmp1075Options } from './tmp1075.ts';
